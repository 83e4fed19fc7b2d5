import type { ErrorRequestHandler, RequestHandler } from 'express';
import multer from 'multer';
import { z } from 'zod';
import { Forbidden } from '../auth/principal';
import { ImageRejected } from '../images/decode';
import { ModelPackError } from '../models/manifest';
import { NotFound } from '../search/searchService';
import { VectorStoreError } from '../store/vectorStore';
import { PathNotAllowed, PathNotFound } from '../../ingest/folderSource';
import { UrlFetchFailed, UrlNotAllowed } from '../../ingest/urlFetch';

/** Every error leaves the API as `{ "error": { "code", "message", "details"? } }`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

const IMAGE_REJECTION_STATUS = { empty: 422, corrupt: 422, unsupported: 415, too_large: 413 } as const;

export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof z.ZodError) {
    return new HttpError(400, 'validation_error', z.prettifyError(err), err.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
  }
  if (err instanceof ImageRejected) return new HttpError(IMAGE_REJECTION_STATUS[err.reason], `image_${err.reason}`, err.message);
  if (err instanceof NotFound || err instanceof PathNotFound) return new HttpError(404, 'not_found', err.message);
  if (err instanceof Forbidden) return new HttpError(403, 'forbidden', err.message);
  if (err instanceof PathNotAllowed) return new HttpError(403, 'path_not_allowed', err.message);
  if (err instanceof UrlNotAllowed) return new HttpError(400, 'url_not_allowed', err.message);
  if (err instanceof UrlFetchFailed) return new HttpError(422, 'url_fetch_failed', err.message);
  if (err instanceof VectorStoreError) return new HttpError(503, 'vector_store_unavailable', err.message);
  if (err instanceof ModelPackError) return new HttpError(503, 'model_unavailable', err.message);
  if (err instanceof multer.MulterError) {
    const status = err.code === 'LIMIT_FILE_SIZE' || err.code === 'LIMIT_FILE_COUNT' || err.code === 'LIMIT_FIELD_VALUE' ? 413 : 400;
    return new HttpError(status, `upload_${err.code.toLowerCase()}`, err.message);
  }
  const e = err as { type?: string; status?: number; message?: string };
  // body-parser errors carry a status and a type.
  if (e.type === 'entity.parse.failed') return new HttpError(400, 'invalid_json', 'the request body is not valid JSON');
  if (e.type === 'entity.too.large') return new HttpError(413, 'body_too_large', 'the request body is too large');
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) return new HttpError(e.status, 'bad_request', e.message ?? 'bad request');
  return new HttpError(500, 'internal_error', 'internal error');
}

export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const http = toHttpError(err);
  if (http.status >= 500) req.log?.error({ err }, 'request failed');
  if (res.headersSent) return;
  res.status(http.status).json({ error: { code: http.code, message: http.message, ...(http.details !== undefined ? { details: http.details } : {}) } });
};

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, 'not_found', `no route for ${req.method} ${req.path}`));
};
