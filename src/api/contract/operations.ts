import {
  captionAnswerSchema,
  captionLeaseSchema,
  idParams,
  imageIdParams,
  keyCreateSchema,
  ocrBackfillSchema,
  ownerParams,
  ownerQuerySchema,
  reconcileSchema,
  uuidParams,
  watchCreateSchema,
  workerAnswerSchema,
  workerLeaseSchema,
} from '../schemas/requests';
import {
  captionAnswerResultSchema,
  captionLeaseResultSchema,
  apiKeyCreatedSchema,
  apiKeyListSchema,
  apiKeyRevokedSchema,
  backfillAcceptedSchema,
  deleteResultSchema,
  ownerPurgeSchema,
  reconcileReportSchema,
  scanReportSchema,
  watchCreatedSchema,
  watchListSchema,
  workerAnswerResultSchema,
  workerLeaseResultSchema,
} from '../schemas/responses';
import { WORKER_ROUTES } from '../../remoteEncoders/protocol';
import { routes } from './route';

const operator = { caller: 'operator', scope: 'admin' } as const;
const worker = { caller: 'operator', scope: 'worker' } as const;
const noLongerPulling = ['pull_disabled', 'pack_mismatch'] as const;

/** The operator's powers: every owner's folders and data, the keys, repairs and the pull workers. */
export const operationRoutes = routes({
  watchFolder: {
    at: 'POST /v1/admin/watches',
    summary: 'Watch a library folder under INGEST_ROOTS for an owner: scanned now, then kept in sync (added, changed, removed, renamed files)',
    access: operator,
    body: { schema: watchCreateSchema, required: true },
    responses: { 201: watchCreatedSchema },
    errors: ['path_not_allowed', 'not_found', 'already_watched'],
  },
  listWatches: {
    at: 'GET /v1/admin/watches',
    summary: 'Watched folders (owner to narrow)',
    access: operator,
    query: ownerQuerySchema,
    responses: { 200: watchListSchema },
  },
  unwatchFolder: {
    at: 'DELETE /v1/admin/watches/{id}',
    summary: 'Stop watching a folder (its images stay)',
    access: operator,
    params: idParams,
    responses: { 200: deleteResultSchema },
  },
  rescanWatch: {
    at: 'POST /v1/admin/watches/{id}/rescan',
    summary: 'Compare the folder with the library now and catch up',
    access: operator,
    params: idParams,
    responses: { 200: scanReportSchema },
  },
  ocrBackfill: {
    at: 'POST /v1/admin/ocr/backfill',
    summary: 'Run OCR over images ingested while it was off (a resumable job; the originals when still on disk, else the previews)',
    access: operator,
    body: { schema: ocrBackfillSchema, required: false },
    responses: { 202: backfillAcceptedSchema, 200: backfillAcceptedSchema },
  },
  reconcile: {
    at: 'POST /v1/admin/reconcile',
    summary: 'Compare Postgres with the vector store (vectors, payloads, files) and optionally repair',
    access: operator,
    body: { schema: reconcileSchema, required: false },
    responses: { 200: reconcileReportSchema },
  },
  purgeOwner: {
    at: 'DELETE /v1/owners/{owner}',
    summary: 'Delete everything of one owner — images (rows, vectors, derivatives, captions), texts, jobs, webhooks and watches (idempotent)',
    access: operator,
    params: ownerParams,
    responses: { 200: ownerPurgeSchema },
  },
  createKey: {
    at: 'POST /v1/admin/keys',
    summary: 'Create an API key: a tenant key (owner; scopes search, ingest) or an operator key; the answer carries the key, once',
    access: operator,
    body: { schema: keyCreateSchema, required: true },
    responses: { 201: apiKeyCreatedSchema },
  },
  listKeys: { at: 'GET /v1/admin/keys', summary: 'API keys, oldest first (prefixes, never the keys)', access: operator, responses: { 200: apiKeyListSchema } },
  revokeKey: {
    at: 'DELETE /v1/admin/keys/{id}',
    summary: 'Revoke an API key: refused at once by this instance, by others within API_KEY_CACHE_MS',
    access: operator,
    params: uuidParams('a key'),
    responses: { 200: apiKeyRevokedSchema },
  },
  leaseBatch: {
    at: `POST ${WORKER_ROUTES.lease}`,
    summary: 'Pull worker (operator key, scope worker, PULL_ENCODERS=on): lease the next ingest batch of image tensors; null when none waits',
    access: worker,
    body: { schema: workerLeaseSchema, required: true },
    responses: { 200: workerLeaseResultSchema },
    errors: noLongerPulling,
  },
  answerBatch: {
    at: `POST ${WORKER_ROUTES.answer}`,
    summary: "Pull worker: the leased batch's embeddings; accepted once (409 when answered already or the lease went to another)",
    access: worker,
    params: uuidParams('a lease'),
    body: { schema: workerAnswerSchema, required: true },
    errors: [...noLongerPulling, 'lease_gone', 'batch_mismatch'],
    responses: { 200: workerAnswerResultSchema },
  },
  leaseCaption: {
    at: `POST ${WORKER_ROUTES.captionLease}`,
    summary:
      "Pull worker with a captioner pack (scope worker, PULL_ENCODERS=on): lease the next image to caption, its preview included; null when none waits. While workers ask, the service's own caption stage leaves the images to them",
    access: worker,
    body: { schema: captionLeaseSchema, required: true },
    responses: { 200: captionLeaseResultSchema },
    errors: ['captioner_mismatch'],
  },
  answerCaption: {
    at: `POST ${WORKER_ROUTES.captionAnswer}`,
    summary: "Pull worker: the leased image's caption (stored and searchable at once), or why none could be made (tried again later)",
    access: worker,
    params: imageIdParams,
    body: { schema: captionAnswerSchema, required: true },
    errors: ['captioner_mismatch', 'lease_gone'],
    responses: { 200: captionAnswerResultSchema },
  },
});
