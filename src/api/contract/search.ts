import { classifySchema, imageSearchSchema, retrieveTextSchema, textSearchSchema } from '../schemas/requests';
import { classifyResponseSchema, retrieveResponseSchema, searchResponseSchema } from '../schemas/responses';
import { routes, type Schema } from './route';

const queryImage = <S extends Schema>(schema: S) => ({ schema, required: true, upload: { field: 'image', many: false } });
/** A query image is an upload or an indexed image: bad pixels are the caller's, an unknown id another owner's or none. */
const imageErrors = ['not_found', 'image_empty', 'image_corrupt', 'image_unsupported', 'image_too_large'] as const;

export const searchRoutes = routes({
  searchText: {
    method: 'post',
    path: '/v1/search/text',
    summary: 'Search images with a (Chinese or English) text query',
    access: { caller: 'owner', scope: 'search', owner: { from: 'filters' } },
    body: { schema: textSearchSchema, required: true },
    responses: { 200: searchResponseSchema },
  },
  searchImage: {
    method: 'post',
    path: '/v1/search/image',
    summary: 'Find images similar to an uploaded image or an indexed image id',
    access: { caller: 'owner', scope: 'search', owner: { from: 'filters' } },
    body: queryImage(imageSearchSchema),
    responses: { 200: searchResponseSchema },
    errors: imageErrors,
  },
  retrieveText: {
    method: 'post',
    path: '/v1/retrieve/text',
    summary: 'Image-to-text retrieval: the best-matching texts of the corpus for an image',
    access: { caller: 'owner', scope: 'search', owner: { from: 'body' } },
    body: queryImage(retrieveTextSchema),
    responses: { 200: retrieveResponseSchema },
    errors: imageErrors,
  },
  classify: {
    method: 'post',
    path: '/v1/classify',
    summary: 'Zero-shot labels for an image from a supplied label list',
    access: { caller: 'owner', scope: 'search', owner: { from: 'body' } },
    body: queryImage(classifySchema),
    responses: { 200: classifyResponseSchema },
    errors: imageErrors,
  },
});
