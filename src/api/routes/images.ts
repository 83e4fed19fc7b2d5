import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { CaptionService } from '../../search/captions';
import { AppError } from '../../errors/appError';
import type { UrlSigner } from '../signedUrls';
import type { DerivativeKind, DerivativeStore } from '../../images/derivativeStore';
import type { SearchService } from '../../search/searchService';
import { ownerFor } from '../auth';
import { movieFile } from '../../library/movieFile';
import type { ImageRecord } from '../../search/imageRecord';
import { segmentPointId } from '../../util/ids';
import { imageIdSchema, ownerQuerySchema } from '../schemas/requests';

const KINDS: DerivativeKind[] = ['thumbnail', 'preview'];

async function sendDerivative(res: Response, derivatives: DerivativeStore, kind: DerivativeKind, image: ImageRecord, segment = 0) {
  if (segment > image.segmentCount) throw new AppError(404, 'not_found', `image ${image.id} has no segment ${segment}`);
  const data = await derivatives.read(kind, segmentPointId(image.id, segment));
  // An image's bytes change only when its external id gets new content, and the etag follows the content.
  res.set({ 'content-type': 'image/jpeg', 'cache-control': 'private, max-age=3600', etag: `"${image.sha256}-${kind}-${segment}"` });
  res.send(data);
}

/** The movie, with Range support so players can seek to a segment. */
async function sendMovie(res: Response, derivatives: DerivativeStore, image: ImageRecord) {
  const movie = await movieFile(image, derivatives);
  if (!movie) throw new AppError(404, 'not_found', `image ${image.id} has no movie to play`);
  await new Promise<void>((resolve, reject) =>
    res.sendFile(movie.file, { headers: { 'content-type': movie.mime, 'cache-control': 'private, max-age=3600' }, dotfiles: 'allow' }, (e) =>
      e ? reject(e) : resolve(),
    ),
  );
}

const segmentParam = z.coerce.number().int().min(0).max(100_000);

/** GET routes of one image's files, given how the image is looked up (signed URL or API key). */
function fileRoutes(r: Router, find: (req: Request, res: Response) => Promise<ImageRecord>, derivatives: DerivativeStore): void {
  for (const kind of KINDS) {
    r.get(`/images/:id/${kind}`, async (req, res) => sendDerivative(res, derivatives, kind, await find(req, res)));
    r.get(`/images/:id/segments/:segment/${kind}`, async (req, res) =>
      sendDerivative(res, derivatives, kind, await find(req, res), segmentParam.parse(req.params.segment)),
    );
  }
  r.get('/images/:id/video', async (req, res) => sendMovie(res, derivatives, await find(req, res)));
}

/** Thumbnails, previews, frames and movies by signed URL (no API key); unsigned requests fall through to the keyed routes. */
export function signedImageRoutes(search: SearchService, derivatives: DerivativeStore, signer: UrlSigner): Router {
  const r = Router();
  r.use('/images/:id', (req, _res, next) => {
    if (req.method !== 'GET' || req.query.sig === undefined) return next('router');
    if (!signer.verify(req.originalUrl.split('?')[0]!, req.query.exp, req.query.sig))
      throw new AppError(403, 'forbidden', 'the signed URL is invalid or has expired');
    next();
  });
  fileRoutes(r, (req) => search.getImage(imageIdSchema.parse(req.params.id)), derivatives);
  return r;
}

export function imageRoutes(search: SearchService, derivatives: DerivativeStore, captions: CaptionService): Router {
  const r = Router();
  r.get('/images/:id', async (req, res) => {
    const owner = ownerFor(res, ownerQuerySchema.parse(req.query).owner);
    res.json(await search.getImageWithText(imageIdSchema.parse(req.params.id), owner));
  });

  r.get('/images/:id/caption', async (req, res) => {
    const owner = ownerFor(res, ownerQuerySchema.parse(req.query).owner);
    const image = await search.getImage(imageIdSchema.parse(req.params.id), owner);
    const result = (await captions.forImages([image])).get(image.id);
    res.json(result && 'caption' in result ? { caption: result.caption } : { caption: null, captionError: result?.error ?? 'no caption' });
  });
  const find = (req: Request, res: Response) => search.getImage(imageIdSchema.parse(req.params.id), ownerFor(res, ownerQuerySchema.parse(req.query).owner));
  fileRoutes(r, find, derivatives);
  return r;
}
