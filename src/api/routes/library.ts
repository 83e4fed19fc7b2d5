import { Router } from 'express';
import type { ImageDeletion } from '../../library/imageDeletion';
import type { LibraryService } from '../../library/libraryService';
import type { OwnerPurgeReport } from '../../library/ownerPurge';
import { ownerName } from '../../search/textCorpus';
import { ownerFor, requireScope } from '../auth';
import { requireContentType } from '../uploads';
import { encodeCursor, imageIdSchema, imagePatchSchema, listImagesQuerySchema, ownerQuerySchema, type Limits } from '../schemas/requests';

/** An owner's library as a photo product manages it: list, change and delete images. */
export function libraryRoutes(
  library: LibraryService,
  deletion: ImageDeletion,
  purgeOwner: (owner: string) => Promise<OwnerPurgeReport>,
  limits: Limits,
): Router {
  const r = Router();

  r.get('/images', requireScope('search'), async (req, res) => {
    const { sort, limit, cursor, ...filters } = listImagesQuerySchema(limits).parse(req.query);
    filters.owner = ownerFor(res, filters.owner);
    const page = await library.list(filters, sort, { offset: cursor ?? 0, limit });
    res.json({ images: page.images, nextCursor: page.nextOffset === null ? null : encodeCursor(page.nextOffset) });
  });

  r.patch('/images/:id', requireScope('ingest'), requireContentType('application/json'), async (req, res) => {
    const id = imageIdSchema.parse(req.params.id);
    const patch = imagePatchSchema.parse(req.body ?? {});
    res.json(await library.update(id, ownerFor(res, ownerQuerySchema.parse(req.query).owner), patch));
  });

  r.delete('/images/:id', requireScope('ingest'), async (req, res) => {
    const id = imageIdSchema.parse(req.params.id);
    // Tenant keys delete only their own images; another owner's id is answered like a missing one.
    res.json({ id, deleted: await deletion.delete(id, ownerFor(res, ownerQuerySchema.parse(req.query).owner)) });
  });

  // Operators only: a tenant key cannot purge even its own library in one call.
  r.delete('/owners/:owner', requireScope('admin'), async (req, res) => {
    res.json(await purgeOwner(ownerName.parse(req.params.owner)));
  });
  return r;
}
