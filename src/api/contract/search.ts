import { classifySchema, imageSearchSchema, retrieveTextSchema, textSearchSchema } from '../schemas/requests';
import { classifyResponseSchema, retrieveResponseSchema, searchResponseSchema } from '../schemas/responses';
import { routes, type Schema } from './route';

/** A query image is an upload (field "image") or an indexed image's id. */
const queryImage = <S extends Schema>(schema: S) => ({ schema, required: true, upload: { field: 'image', many: false } });
/** Bad pixels are the caller's; an unknown id is another owner's or none. */
const imageErrors = ['not_found', 'image_empty', 'image_corrupt', 'image_unsupported', 'image_too_large'] as const;
const searcher = (from: 'filters' | 'body') => ({ caller: 'owner', scope: 'search', owner: { from } }) as const;

export const searchRoutes = routes({
  searchText: {
    at: 'POST /v1/search/text',
    summary: 'Search images with a (Chinese or English) text query',
    access: searcher('filters'),
    body: { schema: textSearchSchema, required: true },
    responses: { 200: searchResponseSchema },
    errors: ['not_found'],
  },
  searchImage: {
    at: 'POST /v1/search/image',
    summary: 'Find images similar to an uploaded image or an indexed image id',
    access: searcher('filters'),
    body: queryImage(imageSearchSchema),
    responses: { 200: searchResponseSchema },
    errors: imageErrors,
  },
  retrieveText: {
    at: 'POST /v1/retrieve/text',
    summary: 'Image-to-text retrieval: the best-matching texts of the corpus for an image',
    access: searcher('body'),
    body: queryImage(retrieveTextSchema),
    responses: { 200: retrieveResponseSchema },
    errors: imageErrors,
  },
  classify: {
    at: 'POST /v1/classify',
    summary: 'Zero-shot labels for an image from a supplied label list',
    access: searcher('body'),
    body: queryImage(classifySchema),
    errors: imageErrors,
    responses: { 200: classifyResponseSchema },
  },
});
