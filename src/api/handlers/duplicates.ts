import type { DuplicateService } from '../../duplicates/duplicateService';
import type { duplicateRoutes } from '../contract/duplicates';
import { imageFilePath } from '../hitShaping';
import type { Handlers } from '../router';
import { encodeCursor } from '../schemas/requests';
import type { DuplicatePage } from '../schemas/responses';
import type { UrlSigner } from '../signedUrls';

/** An owner's near-duplicate groups, with the member to keep, and dismissing a group. */
export function duplicateHandlers(duplicates: DuplicateService, signer: UrlSigner): Handlers<typeof duplicateRoutes> {
  return {
    listDuplicates: async ({ query, owner }) => {
      const page = await duplicates.list(owner!, { offset: query.cursor ?? 0, limit: query.limit }, query.includeDismissed ?? false);
      const body: DuplicatePage = {
        groups: page.groups.map((g) => ({
          ...g,
          members: g.members.map((m) => ({ ...m, thumbnailUrl: signer.sign(imageFilePath(m.image.id, 'thumbnail', m.segment)) })),
        })),
        nextCursor: page.nextOffset === null ? null : encodeCursor(page.nextOffset),
      };
      return body;
    },
    dismissDuplicates: async ({ params, owner }) => {
      await duplicates.dismiss(owner!, params.id);
      return { id: params.id, dismissed: true };
    },
  };
}
