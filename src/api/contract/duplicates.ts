import { duplicatesQuerySchema, ownerQuerySchema, uuidParams } from '../schemas/requests';
import { duplicateDismissedSchema, duplicatePageSchema } from '../schemas/responses';
import { routes } from './route';

/** Groups are one owner's: an operator names it. */
const owner = { from: 'query', required: true } as const;

export const duplicateRoutes = routes({
  listDuplicates: {
    at: 'GET /v1/duplicates',
    summary: "One owner's near-duplicate groups (photos and video frames), newest first, each with the member to keep",
    access: { caller: 'owner', scope: 'search', owner },
    query: duplicatesQuerySchema,
    responses: { 200: duplicatePageSchema },
  },
  dismissDuplicates: {
    at: 'POST /v1/duplicates/{id}/dismiss',
    summary: 'Hide a near-duplicate group (until a new near-duplicate joins it); owner in the query for operator keys',
    access: { caller: 'owner', scope: 'ingest', owner },
    params: uuidParams('a duplicate group'),
    query: ownerQuerySchema,
    responses: { 200: duplicateDismissedSchema },
  },
});
