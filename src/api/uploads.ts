import { rm } from 'node:fs/promises';
import type { RequestHandler } from 'express';
import multer from 'multer';
import { AppError } from '../errors/appError';
import { rejectNulCharacters } from './nulCharacters';

export interface UploadLimits {
  maxBytes: number;
  maxFiles: number;
}

/**
 * Multipart only when the client sent multipart; JSON requests pass through untouched. With a spool
 * folder the files are written there as they arrive (ingest: many photos, videos of hundreds of MB),
 * else held in memory (a query's one image).
 */
export function multipart(field: string, limits: UploadLimits, maxCount = 1, spool?: string): RequestHandler {
  const upload = multer({
    storage: spool ? multer.diskStorage({ destination: spool }) : multer.memoryStorage(),
    // Browsers send UTF-8 file names without declaring a charset; Chinese names need this.
    defParamCharset: 'utf8',
    limits: { fileSize: limits.maxBytes, files: Math.min(maxCount, limits.maxFiles), fields: 20, fieldSize: 64 * 1024 },
  }).array(field, Math.min(maxCount, limits.maxFiles));
  const checkFields = rejectNulCharacters();
  return (req, res, next) => {
    if (!req.is('multipart/form-data')) return next();
    // Spooled files the handler did not move away (a refused request, a client gone) go with the response;
    // multer has removed those of a failed upload itself, and their path with them.
    if (spool) res.once('close', () => void Promise.all(uploadedFiles(req).flatMap((f) => (f.path ? [rm(f.path, { force: true })] : []))));
    upload(req, res, (e?: unknown) => (e ? next(e) : checkFields(req, res, next)));
  };
}

/** Rejects bodies that are neither JSON nor multipart, instead of treating them as empty. */
export function requireContentType(...types: string[]): RequestHandler {
  return (req, _res, next) => {
    if (req.is(types)) return next();
    next(new AppError('unsupported_media_type', `Content-Type must be one of: ${types.join(', ')}`));
  };
}

export function uploadedFiles(req: { files?: unknown }): Express.Multer.File[] {
  return Array.isArray(req.files) ? (req.files as Express.Multer.File[]) : [];
}
