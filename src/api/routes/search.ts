import { Router } from 'express';
import type { SearchMode, SearchResult, SearchService } from '../../search/searchService';
import { ownerFor } from '../auth';
import { AppError } from '../../errors/appError';
import { encodeCursor, imageSearchSchema, textSearchSchema, type Limits } from '../schemas/requests';
import { multipart, requireContentType, type UploadLimits } from '../uploads';
import { queryImageVector } from '../queryImage';

/** Turns ranked hits into response objects (URLs, optional captions). */
export type HitDecorator = (result: SearchResult, opts: { caption: boolean }) => Promise<unknown[]>;

function page(p: { limit: number; offset?: number | undefined; cursor?: number | undefined }) {
  if (p.offset !== undefined && p.cursor !== undefined) throw new AppError(400, 'validation_error', 'give either offset or cursor, not both');
  return { limit: p.limit, offset: p.cursor ?? p.offset ?? 0 };
}

export function searchRoutes(search: SearchService, limits: Limits & UploadLimits, modelKey: string, decorate: HitDecorator, defaultMode: SearchMode): Router {
  const r = Router();
  const respond = async (result: SearchResult, start: number, opts: { caption: boolean }) => ({
    model: modelKey,
    hits: await decorate(result, opts),
    nextCursor: result.nextOffset === null ? null : encodeCursor(result.nextOffset),
    tookMs: Math.round(performance.now() - start),
  });

  r.post('/search/text', requireContentType('application/json'), async (req, res) => {
    const start = performance.now();
    const body = textSearchSchema(limits).parse(req.body);
    body.filters.owner = ownerFor(res, body.filters.owner);
    const mode = body.mode ?? defaultMode;
    const result = await search.byText(body.query, body.filters, page(body), mode);
    res.json({ query: body.query, mode, ...(await respond(result, start, { caption: body.caption })) });
  });

  r.post('/search/image', requireContentType('application/json', 'multipart/form-data'), multipart('image', limits), async (req, res) => {
    const start = performance.now();
    const body = imageSearchSchema(limits).parse(req.body ?? {});
    body.filters.owner = ownerFor(res, body.filters.owner);
    const vector = await queryImageVector(req, search, body, body.filters.owner);
    const result = await search.byVector(vector, body.filters, page(body), body.imageId ? [body.imageId] : undefined);
    res.json(await respond(result, start, { caption: body.caption }));
  });
  return r;
}
