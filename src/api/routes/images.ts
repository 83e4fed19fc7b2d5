import { Router } from 'express';
import type { DerivativeKind, DerivativeStore } from '../../images/derivativeStore';
import type { SearchService } from '../../search/searchService';
import { ownerFor } from '../auth';
import { imageIdSchema } from '../schemas';
import { z } from 'zod';

const ownerQuery = z.object({ owner: z.string().min(1).max(128).optional() });

export function imageRoutes(search: SearchService, derivatives: DerivativeStore): Router {
  const r = Router();
  r.get('/images/:id', async (req, res) => {
    const owner = ownerFor(res, ownerQuery.parse(req.query).owner);
    res.json(await search.getImage(imageIdSchema.parse(req.params.id), owner));
  });

  const serve = (kind: DerivativeKind) =>
    r.get(`/images/:id/${kind}`, async (req, res) => {
      const owner = ownerFor(res, ownerQuery.parse(req.query).owner);
      const image = await search.getImage(imageIdSchema.parse(req.params.id), owner);
      const data = await derivatives.read(kind, image.sha256);
      // Content-addressed: a given URL's bytes never change.
      res.set({ 'content-type': 'image/webp', 'cache-control': 'private, max-age=31536000, immutable', etag: `"${image.sha256}-${kind}"` });
      res.send(data);
    });
  serve('thumbnail');
  serve('preview');
  return r;
}
