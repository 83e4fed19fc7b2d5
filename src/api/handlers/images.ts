import type { Response } from 'express';
import type { ImageRef } from '../../db/repositories';
import type { DerivativeKind, DerivativeStore } from '../../images/derivativeStore';
import type { ImageDeletion } from '../../library/imageDeletion';
import type { LibraryService } from '../../library/libraryService';
import { movieFile } from '../../library/movieFile';
import type { CaptionService } from '../../search/captions';
import type { ImageRecord } from '../../search/imageRecord';
import type { SearchService } from '../../search/searchService';
import { segmentPointId } from '../../util/ids';
import { AppError } from '../../errors/appError';
import type { imageRoutes } from '../contract/images';
import { SENT, type Handlers } from '../router';
import { encodeLibraryCursor } from '../schemas/requests';

export interface ImageHandlerDeps {
  search: SearchService;
  library: LibraryService;
  deletion: ImageDeletion;
  derivatives: DerivativeStore;
  captions: CaptionService;
}

async function sendDerivative(res: Response, derivatives: DerivativeStore, kind: DerivativeKind, image: ImageRecord, segment = 0): Promise<typeof SENT> {
  if (segment > image.segmentCount) throw new AppError('not_found', `image ${image.id} has no segment ${segment}`);
  const data = await derivatives.read(kind, segmentPointId(image.id, segment));
  // An image's bytes change only when its external id gets new content, and the etag follows the content.
  res.set({ 'content-type': 'image/jpeg', 'cache-control': 'private, max-age=3600', etag: `"${image.sha256}-${kind}-${segment}"` });
  res.send(data);
  return SENT;
}

/** The movie, with Range support so players can seek to a segment. */
async function sendMovie(res: Response, derivatives: DerivativeStore, image: ImageRecord): Promise<typeof SENT> {
  const movie = await movieFile(image, derivatives);
  if (!movie) throw new AppError('not_found', `image ${image.id} has no movie to play`);
  await new Promise<void>((resolve, reject) =>
    res.sendFile(movie.file, { headers: { 'content-type': movie.mime, 'cache-control': 'private, max-age=3600' }, dotfiles: 'allow' }, (e) =>
      e ? reject(e) : resolve(),
    ),
  );
  return SENT;
}

/**
 * One image and an owner's library. Another owner's image is answered like a missing one; a signed URL's
 * caller (owner undefined) reaches only the image whose path was signed.
 */
export function imageHandlers(d: ImageHandlerDeps): Handlers<typeof imageRoutes> {
  const image = (id: string, owner: string | undefined) => d.search.getImage(id, owner);
  return {
    getImage: async ({ params, owner }) => {
      const found = await d.search.getImageWithText(params.id, owner);
      return { ...found, caption: await d.captions.stored(found.id) };
    },
    getCaption: async ({ params, owner }) => {
      const found = await image(params.id, owner);
      const result = (await d.captions.forImages([found])).get(found.id);
      return result && 'caption' in result ? { caption: result.caption } : { caption: null, captionError: result?.error ?? 'no caption' };
    },
    thumbnail: async ({ res, params, owner }) => sendDerivative(res, d.derivatives, 'thumbnail', await image(params.id, owner)),
    preview: async ({ res, params, owner }) => sendDerivative(res, d.derivatives, 'preview', await image(params.id, owner)),
    segmentThumbnail: async ({ res, params, owner }) => sendDerivative(res, d.derivatives, 'thumbnail', await image(params.id, owner), params.segment),
    segmentPreview: async ({ res, params, owner }) => sendDerivative(res, d.derivatives, 'preview', await image(params.id, owner), params.segment),
    movie: async ({ res, params, owner }) => sendMovie(res, d.derivatives, await image(params.id, owner)),
    listImages: async ({ query }) => {
      const { sort, limit, cursor, ...filters } = query;
      const page = await d.library.list(filters, sort, { after: cursor?.after ?? null, limit });
      return { images: page.images, nextCursor: page.next && encodeLibraryCursor(sort, page.next) };
    },
    listPlaces: async ({ owner }) => ({ places: await d.library.places(owner) }),
    updateImage: async ({ params, owner, body }) => d.library.update({ id: params.id }, owner, body),
    deleteImage: async ({ params, owner }) => ({ id: params.id, deleted: (await d.deletion.delete([{ id: params.id }], owner)).length > 0 }),
    getByExternalId: async ({ params, owner }) => d.library.get({ externalId: params.externalId }, owner),
    updateByExternalId: async ({ params, owner, body }) => d.library.update({ externalId: params.externalId }, owner, body),
    deleteByExternalId: async ({ params, owner }) => {
      const [deleted] = await d.deletion.delete([{ externalId: params.externalId }], owner);
      return { externalId: params.externalId, id: deleted?.id ?? null, deleted: deleted !== undefined };
    },
    deleteImages: async ({ body, owner }) => {
      const refs: ImageRef[] = [...(body.ids ?? []).map((id) => ({ id })), ...(body.externalIds ?? []).map((externalId) => ({ externalId }))];
      const deleted = await d.deletion.delete(refs, owner);
      return { deleted, count: deleted.length };
    },
  };
}
