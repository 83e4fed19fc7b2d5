import { Router } from 'express';
import type { ImageDeletion } from '../../library/imageDeletion';
import { ownerFor, requireScope } from '../auth';
import { imageIdSchema } from '../schemas/requests';

/** Changes to an owner's library (the photo product's side of the API); keys need the "ingest" scope. */
export function libraryRoutes(deletion: ImageDeletion): Router {
  const r = Router();
  r.delete('/images/:id', requireScope('ingest'), async (req, res) => {
    const id = imageIdSchema.parse(req.params.id);
    // Tenant keys delete only their own images; another owner's id is answered like a missing one.
    const owner = ownerFor(res, typeof req.query.owner === 'string' ? req.query.owner : undefined);
    res.json({ id, deleted: await deletion.delete(id, owner) });
  });
  return r;
}
