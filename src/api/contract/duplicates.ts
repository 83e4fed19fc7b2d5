import { duplicatesQuerySchema, ownerQuerySchema, uuidParams } from '../schemas/requests';
import { duplicateDismissedSchema, duplicatePageSchema } from '../schemas/responses';
import { routes } from './route';

export const duplicateRoutes = routes({
  listDuplicates: {
    method: 'get',
    path: '/v1/duplicates',
    summary: "One owner's near-duplicate groups (photos and video frames), newest first, each with the member to keep",
    access: { caller: 'owner', scope: 'search', owner: { from: 'query', required: true } },
    query: duplicatesQuerySchema,
    responses: { 200: duplicatePageSchema },
  },
  dismissDuplicates: {
    method: 'post',
    path: '/v1/duplicates/{id}/dismiss',
    summary: 'Hide a near-duplicate group (until a new near-duplicate joins it); owner in the query for operator keys',
    access: { caller: 'owner', scope: 'ingest', owner: { from: 'query', required: true } },
    params: uuidParams('a duplicate group'),
    query: ownerQuerySchema,
    responses: { 200: duplicateDismissedSchema },
  },
});
