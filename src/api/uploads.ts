import type { RequestHandler } from 'express';
import multer from 'multer';
import { AppError } from '../errors/appError';
import { rejectNulCharacters } from './nulCharacters';

export interface UploadLimits {
  maxBytes: number;
  maxFiles: number;
}

/** Multipart only when the client sent multipart; JSON requests pass through untouched. */
export function multipart(field: string, limits: UploadLimits, maxCount = 1): RequestHandler {
  const upload = multer({
    storage: multer.memoryStorage(),
    // Browsers send UTF-8 file names without declaring a charset; Chinese names need this.
    defParamCharset: 'utf8',
    limits: { fileSize: limits.maxBytes, files: Math.min(maxCount, limits.maxFiles), fields: 20, fieldSize: 64 * 1024 },
  }).array(field, Math.min(maxCount, limits.maxFiles));
  const checkFields = rejectNulCharacters();
  return (req, res, next) => (req.is('multipart/form-data') ? upload(req, res, (e?: unknown) => (e ? next(e) : checkFields(req, res, next))) : next());
}

/** Rejects bodies that are neither JSON nor multipart, instead of treating them as empty. */
export function requireContentType(...types: string[]): RequestHandler {
  return (req, _res, next) => {
    if (req.is(types)) return next();
    next(new AppError(415, 'unsupported_media_type', `Content-Type must be one of: ${types.join(', ')}`));
  };
}

export function uploadedFiles(req: { files?: unknown }): Express.Multer.File[] {
  return Array.isArray(req.files) ? (req.files as Express.Multer.File[]) : [];
}
