import { imageRecordSchema } from '../../search/imageRecord';
import {
  bulkDeleteSchema,
  externalIdParams,
  idParams,
  imageFileQuerySchema,
  imagePatchSchema,
  listImagesQuerySchema,
  ownerQuerySchema,
  segmentParams,
} from '../schemas/requests';
import {
  bulkDeleteResultSchema,
  deleteResultSchema,
  externalDeleteResultSchema,
  imageCaptionResponseSchema,
  imageDetailSchema,
  imagePageSchema,
  placeFacetSchema,
} from '../schemas/responses';
import { routes } from './route';

const jpeg = { 200: { binary: 'image/jpeg' } };
const reader = { caller: 'owner', scope: 'search', owner: { from: 'query' } } as const;
const editor = { caller: 'owner', scope: 'ingest', owner: { from: 'query' } } as const;
/** One image by our id or by the product's, read or changed; an operator names its owner in the query. */
const byId = { params: idParams, query: ownerQuerySchema } as const;
const byExternalId = { params: externalIdParams, query: ownerQuerySchema } as const;
/** Thumbnails, previews, frames and movies: also by the signed URLs hits carry, for <img> and <video> tags. */
const file = { access: { ...reader, signedUrl: true }, query: imageFileQuerySchema } as const;
const signed = 'also by signed URL (exp, sig) without a key';
/** A change to an image: the same body and answer by either id. */
const change = { access: editor, body: { schema: imagePatchSchema, required: true }, responses: { 200: imageRecordSchema } } as const;

/** One image and an owner's library as a photo product manages it: read, list, change and delete, by our ids or by its own. */
export const imageRoutes = routes({
  getImage: {
    at: 'GET /v1/images/{id}',
    summary: 'Image metadata, with the text OCR read in it',
    access: reader,
    ...byId,
    responses: { 200: imageDetailSchema },
  },
  getCaption: {
    at: 'GET /v1/images/{id}/caption',
    summary: 'Caption of one image (cached)',
    access: reader,
    ...byId,
    responses: { 200: imageCaptionResponseSchema },
  },
  thumbnail: { at: 'GET /v1/images/{id}/thumbnail', summary: `Thumbnail (JPEG, 256 px); ${signed}`, ...file, params: idParams, responses: jpeg },
  preview: { at: 'GET /v1/images/{id}/preview', summary: `Preview (JPEG, 512 px); ${signed}`, ...file, params: idParams, responses: jpeg },
  segmentThumbnail: {
    at: 'GET /v1/images/{id}/segments/{segment}/thumbnail',
    summary: `Thumbnail of one sampled frame of a video, Live Photo or animation (segment 0..segmentCount); ${signed}`,
    ...file,
    params: segmentParams,
    responses: jpeg,
  },
  segmentPreview: {
    at: 'GET /v1/images/{id}/segments/{segment}/preview',
    summary: `Preview (512 px) of one sampled frame; ${signed}`,
    ...file,
    params: segmentParams,
    responses: jpeg,
  },
  movie: {
    at: 'GET /v1/images/{id}/video',
    summary: `The movie of a video or Live Photo, seekable (Range requests); ${signed}`,
    ...file,
    params: idParams,
    responses: { 200: { binary: 'video/mp4' }, 206: { binary: 'video/mp4' } },
  },
  listImages: {
    at: 'GET /v1/images',
    summary: "One owner's library, page by page: the search filters, newest first by capture time or by ingest time",
    access: reader,
    query: listImagesQuerySchema,
    responses: { 200: imagePageSchema },
  },
  listPlaces: {
    at: 'GET /v1/places',
    summary: "Where one owner's photos were taken (by their GPS position): each country, province and city with its count, for a place filter",
    access: reader,
    query: ownerQuerySchema,
    responses: { 200: placeFacetSchema },
  },
  updateImage: {
    at: 'PATCH /v1/images/{id}',
    summary: 'Change albums, favourite, hidden, archived, tags or the capture time; the search filters follow at once',
    ...byId,
    ...change,
  },
  deleteImage: {
    at: 'DELETE /v1/images/{id}',
    summary: 'Delete an image: hidden from every endpoint at once, then its vector, files and row are removed (idempotent)',
    access: editor,
    ...byId,
    responses: { 200: deleteResultSchema },
  },
  getByExternalId: {
    at: 'GET /v1/images/by-external-id/{externalId}',
    summary: "Image metadata by the photo product's own id (URL-encode it)",
    access: reader,
    ...byExternalId,
    responses: { 200: imageRecordSchema },
  },
  updateByExternalId: {
    at: 'PATCH /v1/images/by-external-id/{externalId}',
    summary: "PATCH /v1/images/{id}, by the photo product's own id",
    ...byExternalId,
    ...change,
  },
  deleteByExternalId: {
    at: 'DELETE /v1/images/by-external-id/{externalId}',
    summary: "DELETE /v1/images/{id}, by the photo product's own id (idempotent)",
    access: editor,
    ...byExternalId,
    responses: { 200: externalDeleteResultSchema },
  },
  deleteImages: {
    at: 'POST /v1/images/delete',
    summary: 'Delete many images at once by ids and/or externalIds (idempotent; unknown ones are left out of the answer)',
    access: { caller: 'owner', scope: 'ingest', owner: { from: 'body' } },
    body: { schema: bulkDeleteSchema, required: true },
    responses: { 200: bulkDeleteResultSchema },
  },
});
