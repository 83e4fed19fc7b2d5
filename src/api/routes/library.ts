import { Router, type Response } from 'express';
import type { ImageRef } from '../../db/repositories';
import type { ImageDeletion } from '../../library/imageDeletion';
import type { LibraryService } from '../../library/libraryService';
import type { OwnerPurgeReport } from '../../library/ownerPurge';
import { ownerName } from '../../search/textCorpus';
import { ownerFor, requireScope } from '../auth';
import { requireContentType } from '../uploads';
import {
  bulkDeleteSchema,
  encodeLibraryCursor,
  externalIdSchema,
  imageIdSchema,
  imagePatchSchema,
  listImagesQuerySchema,
  ownerQuerySchema,
  type Limits,
} from '../schemas/requests';

/** An owner's library as a photo product manages it: list, change and delete images, by our ids or by its own. */
export function libraryRoutes(
  library: LibraryService,
  deletion: ImageDeletion,
  purgeOwner: (owner: string) => Promise<OwnerPurgeReport>,
  limits: Limits,
): Router {
  const r = Router();
  // Tenant keys act on their own images only; another owner's image is answered like a missing one.
  const owner = (req: { query: unknown }, res: Response) => ownerFor(res, ownerQuerySchema.parse(req.query).owner);
  const byExternalId = (raw: unknown) => ({ externalId: externalIdSchema.parse(raw) });

  r.get('/images', requireScope('search'), async (req, res) => {
    const { sort, limit, cursor, ...filters } = listImagesQuerySchema(limits).parse(req.query);
    filters.owner = ownerFor(res, filters.owner);
    const page = await library.list(filters, sort, { after: cursor?.after ?? null, limit });
    res.json({ images: page.images, nextCursor: page.next && encodeLibraryCursor(sort, page.next) });
  });

  r.get('/images/by-external-id/:externalId', requireScope('search'), async (req, res) => {
    res.json(await library.get(byExternalId(req.params.externalId), owner(req, res)));
  });

  r.patch('/images/by-external-id/:externalId', requireScope('ingest'), requireContentType('application/json'), async (req, res) => {
    const ref = byExternalId(req.params.externalId);
    res.json(await library.update(ref, owner(req, res), imagePatchSchema.parse(req.body ?? {})));
  });

  r.delete('/images/by-external-id/:externalId', requireScope('ingest'), async (req, res) => {
    const ref = byExternalId(req.params.externalId);
    const [deleted] = await deletion.delete([ref], owner(req, res));
    res.json({ externalId: ref.externalId, id: deleted?.id ?? null, deleted: deleted !== undefined });
  });

  r.patch('/images/:id', requireScope('ingest'), requireContentType('application/json'), async (req, res) => {
    const id = imageIdSchema.parse(req.params.id);
    res.json(await library.update({ id }, owner(req, res), imagePatchSchema.parse(req.body ?? {})));
  });

  r.delete('/images/:id', requireScope('ingest'), async (req, res) => {
    const id = imageIdSchema.parse(req.params.id);
    res.json({ id, deleted: (await deletion.delete([{ id }], owner(req, res))).length > 0 });
  });

  r.post('/images/delete', requireScope('ingest'), requireContentType('application/json'), async (req, res) => {
    const body = bulkDeleteSchema.parse(req.body ?? {});
    const refs: ImageRef[] = [...(body.ids ?? []).map((id) => ({ id })), ...(body.externalIds ?? []).map((externalId) => ({ externalId }))];
    const deleted = await deletion.delete(refs, ownerFor(res, body.owner));
    res.json({ deleted, count: deleted.length });
  });

  // Operators only: a tenant key cannot purge even its own library in one call.
  r.delete('/owners/:owner', requireScope('admin'), async (req, res) => {
    res.json(await purgeOwner(ownerName.parse(req.params.owner)));
  });
  return r;
}
