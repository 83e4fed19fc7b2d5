import type { Request } from 'express';
import type { QueryVector, SearchService } from '../search/searchService';
import { AppError } from '../errors/appError';
import { uploadedFiles } from './uploads';

/** The query image of a request: an upload (field "image") or an indexed image id (and frame), never both. */
export async function queryImageVector(
  req: Request,
  search: SearchService,
  query: { imageId?: string | undefined; segment?: number | undefined },
  owner: string | undefined,
): Promise<QueryVector> {
  const files = uploadedFiles(req);
  if (files.length > 0 === (query.imageId !== undefined)) {
    throw new AppError('validation_error', 'send exactly one of: an uploaded image (field "image") or imageId');
  }
  if (query.segment !== undefined && query.imageId === undefined) throw new AppError('validation_error', 'segment needs imageId');
  return query.imageId ? search.vectorOf(query.imageId, owner, query.segment) : search.embedImage(files[0]!.buffer);
}
