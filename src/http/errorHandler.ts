import type { ErrorRequestHandler, RequestHandler } from 'express';
import multer from 'multer';
import { z } from 'zod';
import { AppError } from '../errors/appError';
import { errorBody, isErrorCode } from '../errors/codes';
import { lastLine } from '../errors/lastLine';

/**
 * Every error leaves the API as `{ "error": { "code", "message", "details"? } }`. Application errors
 * carry their own status and code; zod, multer and body-parser errors are translated here.
 */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof z.ZodError) {
    return new AppError(
      'validation_error',
      z.prettifyError(err),
      err.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  }
  if (err instanceof multer.MulterError) {
    const code = `upload_${err.code.toLowerCase()}`;
    return new AppError(isErrorCode(code) ? code : 'bad_request', err.message);
  }
  const e = err as { type?: string; status?: number; message?: string };
  // body-parser errors carry a status and a type.
  if (e.type === 'entity.parse.failed') return new AppError('invalid_json', 'the request body is not valid JSON');
  if (e.type === 'entity.too.large') return new AppError('body_too_large', 'the request body is too large');
  // An unsupported charset or content encoding of a JSON body.
  if (e.status === 415) return new AppError('unsupported_media_type', e.message ?? 'unsupported media type');
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) return new AppError('bad_request', e.message ?? 'bad request');
  return new AppError('internal_error', 'internal error');
}

export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const error = toAppError(err);
  if (error.status === 500) req.log?.error({ err }, 'request failed');
  // An outage or a timeout: one line each, not a stack per request while it lasts.
  else if (error.status > 500) req.log?.warn({ code: error.code, err: lastLine(error.cause ?? error) }, 'request failed');
  if (res.headersSent) return;
  res.status(error.status).json(errorBody(error.code, error.message, error.details));
};

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new AppError('not_found', `no route for ${req.method} ${req.path}`));
};
