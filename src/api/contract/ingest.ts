import { idParams, ingestRequestSchema, listJobsQuerySchema, textIngestSchema } from '../schemas/requests';
import { ingestAcceptedSchema, jobPageSchema, jobStatusSchema, textsAddedSchema } from '../schemas/responses';
import { routes } from './route';

/** A tenant's own jobs; an operator's key reaches everyone's. */
const jobs = { caller: 'owner', scope: 'ingest', owner: { from: 'key' } } as const;

/** An owner's ingest: its jobs, uploads, URLs and folders under its own root, and its texts. */
export const ingestRoutes = routes({
  ingest: {
    at: 'POST /v1/admin/ingest',
    summary:
      'Start an ingest job from uploaded files, URLs, or a folder (operators: under INGEST_ROOTS, with the admin scope; tenants: under their own folder of INGEST_TENANT_ROOT)',
    access: { caller: 'owner', scope: 'ingest', owner: { from: 'body', required: true } },
    body: { schema: ingestRequestSchema, required: true, upload: { field: 'files', many: true, spool: true, videos: true } },
    responses: { 202: ingestAcceptedSchema },
    errors: ['path_not_allowed', 'not_found', 'url_not_allowed'],
  },
  addTexts: {
    at: 'POST /v1/admin/texts',
    summary: "Add texts (captions, tags, names) to the image-to-text corpus: a tenant's to its own, an operator's to an owner's or the shared one",
    access: jobs,
    body: { schema: textIngestSchema, required: true },
    responses: { 200: textsAddedSchema },
  },
  getJob: { at: 'GET /v1/admin/jobs/{id}', summary: 'Ingest job progress', access: jobs, params: idParams, responses: { 200: jobStatusSchema } },
  listJobs: {
    at: 'GET /v1/admin/jobs',
    summary: 'Ingest jobs, newest first: a tenant sees its own, the operator everyone’s (owner to narrow), optionally in one state',
    access: { ...jobs, owner: { from: 'query' } },
    query: listJobsQuerySchema,
    responses: { 200: jobPageSchema },
  },
  cancelJob: {
    at: 'POST /v1/admin/jobs/{id}/cancel',
    summary: 'Cancel a queued or running job: not resumed; a running one stops after the batch it is writing (409 when already finished)',
    access: jobs,
    params: idParams,
    errors: ['job_finished'],
    responses: { 200: jobStatusSchema },
  },
  retryJob: {
    at: 'POST /v1/admin/jobs/{id}/retry',
    summary:
      'Run a failed job again: the items its failure left pending are read again (uploads are kept for this), items that failed on their own stay failed (409 when the job has not failed)',
    access: jobs,
    params: idParams,
    errors: ['job_not_failed'],
    responses: { 200: jobStatusSchema },
  },
});
