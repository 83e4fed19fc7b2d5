import type { RequestHandler } from 'express';
import { AppError } from '../errors/appError';
import { NUL_MESSAGE, nulAt } from '../util/nul';

function decodedPath(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}

/** Refuses U+0000 in the path, the query string, the parsed body and uploaded files' names (JSON inside form fields: see jsonField). */
export function rejectNulCharacters(): RequestHandler {
  return (req, _res, next) => {
    const files = Array.isArray(req.files) ? (req.files as { originalname: string }[]).map((f) => f.originalname) : [];
    const found = nulAt(decodedPath(req.path), 'path') ?? nulAt(req.query, 'query') ?? nulAt(req.body, 'body') ?? nulAt(files, 'files');
    next(found ? new AppError('validation_error', `${found} ${NUL_MESSAGE}`) : undefined);
  };
}
