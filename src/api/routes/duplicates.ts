import { Router } from 'express';
import type { DuplicateService } from '../../duplicates/duplicateService';
import { AppError } from '../../errors/appError';
import { ownerFor, requireScope } from '../auth';
import { z } from 'zod';
import { duplicatesQuerySchema, encodeCursor, ownerQuerySchema, type Limits } from '../schemas/requests';
import type { DuplicatePage } from '../schemas/responses';
import { imageFilePath } from '../hitShaping';
import type { UrlSigner } from '../signedUrls';

const groupIdSchema = z.uuid({ message: 'a duplicate group id is a UUID' });

/** An owner's near-duplicate groups, with the member to keep, and dismissing a group. */
export function duplicateRoutes(duplicates: DuplicateService, signer: UrlSigner, limits: Limits): Router {
  const r = Router();
  const ownerOf = (given: string | undefined, res: Parameters<typeof ownerFor>[0]) => {
    const owner = ownerFor(res, given);
    if (owner === undefined) throw new AppError(400, 'validation_error', 'owner is required with an operator key');
    return owner;
  };

  r.get('/duplicates', requireScope('search'), async (req, res) => {
    const { owner, includeDismissed, limit, cursor } = duplicatesQuerySchema(limits).parse(req.query);
    const page = await duplicates.list(ownerOf(owner, res), { offset: cursor ?? 0, limit }, includeDismissed ?? false);
    const body: DuplicatePage = {
      groups: page.groups.map((g) => ({
        ...g,
        members: g.members.map((m) => ({
          ...m,
          thumbnailUrl: signer.sign(imageFilePath(m.image.id, 'thumbnail', m.segment)),
        })),
      })),
      nextCursor: page.nextOffset === null ? null : encodeCursor(page.nextOffset),
    };
    res.json(body);
  });

  r.post('/duplicates/:id/dismiss', requireScope('ingest'), async (req, res) => {
    const id = groupIdSchema.parse(req.params.id);
    await duplicates.dismiss(ownerOf(ownerQuerySchema.parse(req.query).owner, res), id);
    res.json({ id, dismissed: true });
  });
  return r;
}
