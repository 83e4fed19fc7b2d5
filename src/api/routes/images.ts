import { Router, type Response } from 'express';
import type { CaptionService } from '../../search/captions';
import { AppError } from '../../errors/appError';
import type { UrlSigner } from '../signedUrls';
import type { DerivativeKind, DerivativeStore } from '../../images/derivativeStore';
import type { SearchService } from '../../search/searchService';
import { ownerFor } from '../auth';
import { imageIdSchema, ownerQuerySchema } from '../schemas/requests';

const KINDS: DerivativeKind[] = ['thumbnail', 'preview'];

async function sendDerivative(res: Response, derivatives: DerivativeStore, kind: DerivativeKind, image: { id: string; sha256: string }) {
  const data = await derivatives.read(kind, image.id);
  // An image's bytes change only when its external id gets new content, and the etag follows the content.
  res.set({ 'content-type': 'image/jpeg', 'cache-control': 'private, max-age=3600', etag: `"${image.sha256}-${kind}"` });
  res.send(data);
}

/** Thumbnails and previews by signed URL (no API key); unsigned requests fall through to the keyed routes. */
export function signedImageRoutes(search: SearchService, derivatives: DerivativeStore, signer: UrlSigner): Router {
  const r = Router();
  for (const kind of KINDS) {
    r.get(`/images/:id/${kind}`, async (req, res, next) => {
      if (req.query.sig === undefined) return next('route');
      if (!signer.verify(`${req.baseUrl}${req.path}`, req.query.exp, req.query.sig))
        throw new AppError(403, 'forbidden', 'the signed URL is invalid or has expired');
      const image = await search.getImage(imageIdSchema.parse(req.params.id));
      await sendDerivative(res, derivatives, kind, image);
    });
  }
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
  for (const kind of KINDS) {
    r.get(`/images/:id/${kind}`, async (req, res) => {
      const owner = ownerFor(res, ownerQuerySchema.parse(req.query).owner);
      const image = await search.getImage(imageIdSchema.parse(req.params.id), owner);
      await sendDerivative(res, derivatives, kind, image);
    });
  }
  return r;
}
