import { z } from 'zod';
import { imageRecordSchema } from '../search/imageRecord';
import {
  bulkDeleteSchema,
  duplicatesQuerySchema,
  ocrBackfillSchema,
  classifySchema,
  listDeliveriesQuerySchema,
  ownerQuerySchema,
  webhookCreateSchema,
  workerAnswerSchema,
  workerLeaseSchema,
  watchCreateSchema,
  imagePatchSchema,
  imageSearchSchema,
  ingestRequestSchema,
  listImagesQuerySchema,
  listJobsQuerySchema,
  retrieveTextSchema,
  textIngestSchema,
  textSearchSchema,
  type Limits,
} from './schemas/requests';
import {
  bulkDeleteResultSchema,
  backfillAcceptedSchema,
  duplicateDismissedSchema,
  duplicatePageSchema,
  imageDetailSchema,
  deliveryPageSchema,
  externalDeleteResultSchema,
  webhookCreatedSchema,
  workerAnswerResultSchema,
  workerLeaseResultSchema,
  webhookListSchema,
  webhookTestResultSchema,
  scanReportSchema,
  watchCreatedSchema,
  watchListSchema,
  classifyResponseSchema,
  deleteResultSchema,
  imagePageSchema,
  errorResponseSchema,
  healthSchema,
  imageCaptionResponseSchema,
  ingestAcceptedSchema,
  jobPageSchema,
  jobStatusSchema,
  ownerPurgeSchema,
  readinessSchema,
  reconcileReportSchema,
  retrieveResponseSchema,
  searchResponseSchema,
  textsAddedSchema,
} from './schemas/responses';

/** A response: a JSON body described by a schema, or a binary or text one described by its media type. */
type ResponseContract = z.ZodType | { binary: string } | { text: string };

/** One route as the API promises it: the OpenAPI document is made from these, and the contract test checks them. */
export interface RouteContract {
  method: 'get' | 'post' | 'patch' | 'delete';
  /** OpenAPI path, e.g. /v1/images/{id}. */
  path: string;
  summary: string;
  /** Needs an API key (every /v1 route but signed image URLs). */
  keyed: boolean;
  request?: { schema: z.ZodType; upload?: { field: string; many: boolean }; required: boolean };
  /** Query parameters, as one object schema. */
  query?: z.ZodType;
  responses: Record<number, ResponseContract>;
}

const ERRORS = [400, 401, 403, 404, 409, 413, 415, 422, 429, 503] as const;
const jpeg = { binary: 'image/jpeg' };
/** prom-client's exposition format, as its registry names it. */
const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';
const openApiShape = z.looseObject({ openapi: z.literal('3.1.0'), info: z.looseObject({ version: z.string() }), paths: z.record(z.string(), z.unknown()) });

export function routeContracts(limits: Limits): RouteContract[] {
  const json = (schema: z.ZodType) => ({ schema, required: true });
  const upload = (schema: z.ZodType, field: string, many = false) => ({ schema, upload: { field, many }, required: true });
  return [
    {
      method: 'post',
      path: '/v1/search/text',
      summary: 'Search images with a (Chinese or English) text query',
      keyed: true,
      request: json(textSearchSchema(limits)),
      responses: { 200: searchResponseSchema },
    },
    {
      method: 'post',
      path: '/v1/search/image',
      summary: 'Find images similar to an uploaded image or an indexed image id',
      keyed: true,
      request: upload(imageSearchSchema(limits), 'image'),
      responses: { 200: searchResponseSchema },
    },
    {
      method: 'post',
      path: '/v1/retrieve/text',
      summary: 'Image-to-text retrieval: the best-matching texts of the corpus for an image',
      keyed: true,
      request: upload(retrieveTextSchema(limits), 'image'),
      responses: { 200: retrieveResponseSchema },
    },
    {
      method: 'post',
      path: '/v1/classify',
      summary: 'Zero-shot labels for an image from a supplied label list',
      keyed: true,
      request: upload(classifySchema(limits), 'image'),
      responses: { 200: classifyResponseSchema },
    },
    { method: 'get', path: '/v1/images/{id}', summary: 'Image metadata, with the text OCR read in it', keyed: true, responses: { 200: imageDetailSchema } },
    { method: 'get', path: '/v1/images/{id}/caption', summary: 'Caption of one image (cached)', keyed: true, responses: { 200: imageCaptionResponseSchema } },
    {
      method: 'get',
      path: '/v1/images/{id}/thumbnail',
      summary: 'Thumbnail (JPEG, 256 px); also by signed URL (exp, sig) without a key',
      keyed: true,
      responses: { 200: jpeg },
    },
    {
      method: 'get',
      path: '/v1/images/{id}/preview',
      summary: 'Preview (JPEG, 512 px); also by signed URL (exp, sig) without a key',
      keyed: true,
      responses: { 200: jpeg },
    },
    {
      method: 'get',
      path: '/v1/images/{id}/segments/{segment}/thumbnail',
      summary: 'Thumbnail of one sampled frame of a video, Live Photo or animation (segment 0..segmentCount); also by signed URL',
      keyed: true,
      responses: { 200: jpeg },
    },
    {
      method: 'get',
      path: '/v1/images/{id}/segments/{segment}/preview',
      summary: 'Preview (512 px) of one sampled frame; also by signed URL',
      keyed: true,
      responses: { 200: jpeg },
    },
    {
      method: 'get',
      path: '/v1/images/{id}/video',
      summary: 'The movie of a video or Live Photo, seekable (Range requests); also by signed URL',
      keyed: true,
      responses: { 200: { binary: 'video/mp4' }, 206: { binary: 'video/mp4' } },
    },
    {
      method: 'get',
      path: '/v1/duplicates',
      summary: "One owner's near-duplicate groups (photos and video frames), newest first, each with the member to keep",
      keyed: true,
      query: duplicatesQuerySchema(limits),
      responses: { 200: duplicatePageSchema },
    },
    {
      method: 'post',
      path: '/v1/duplicates/{id}/dismiss',
      summary: 'Hide a near-duplicate group (until a new near-duplicate joins it); owner in the query for operator keys',
      keyed: true,
      query: ownerQuerySchema,
      responses: { 200: duplicateDismissedSchema },
    },
    {
      method: 'get',
      path: '/v1/images',
      summary: "One owner's library, page by page: the search filters, newest first by capture time or by ingest time",
      keyed: true,
      query: listImagesQuerySchema(limits),
      responses: { 200: imagePageSchema },
    },
    {
      method: 'patch',
      path: '/v1/images/{id}',
      summary: 'Change albums, favourite, hidden, archived, tags or the capture time; the search filters follow at once',
      keyed: true,
      request: json(imagePatchSchema),
      responses: { 200: imageRecordSchema },
    },
    {
      method: 'delete',
      path: '/v1/images/{id}',
      summary: 'Delete an image: hidden from every endpoint at once, then its vector, files and row are removed (idempotent)',
      keyed: true,
      responses: { 200: deleteResultSchema },
    },
    {
      method: 'get',
      path: '/v1/images/by-external-id/{externalId}',
      summary: "Image metadata by the photo product's own id (URL-encode it)",
      keyed: true,
      query: ownerQuerySchema,
      responses: { 200: imageRecordSchema },
    },
    {
      method: 'patch',
      path: '/v1/images/by-external-id/{externalId}',
      summary: "PATCH /v1/images/{id}, by the photo product's own id",
      keyed: true,
      query: ownerQuerySchema,
      request: json(imagePatchSchema),
      responses: { 200: imageRecordSchema },
    },
    {
      method: 'delete',
      path: '/v1/images/by-external-id/{externalId}',
      summary: "DELETE /v1/images/{id}, by the photo product's own id (idempotent)",
      keyed: true,
      query: ownerQuerySchema,
      responses: { 200: externalDeleteResultSchema },
    },
    {
      method: 'post',
      path: '/v1/images/delete',
      summary: 'Delete many images at once by ids and/or externalIds (idempotent; unknown ones are left out of the answer)',
      keyed: true,
      request: json(bulkDeleteSchema),
      responses: { 200: bulkDeleteResultSchema },
    },
    {
      method: 'post',
      path: '/v1/workers/lease',
      summary: 'Pull worker (scope worker, PULL_ENCODERS=on): lease the next ingest batch of image tensors; null when none waits',
      keyed: true,
      request: json(workerLeaseSchema),
      responses: { 200: workerLeaseResultSchema },
    },
    {
      method: 'post',
      path: '/v1/workers/leases/{id}',
      summary: "Pull worker: the leased batch's embeddings; accepted once (409 when answered already or the lease went to another)",
      keyed: true,
      request: json(workerAnswerSchema),
      responses: { 200: workerAnswerResultSchema },
    },
    {
      method: 'post',
      path: '/v1/webhooks',
      summary: 'Subscribe a URL to events (image.indexed, image.deleted, job.completed, job.failed); the answer carries the signing secret, once',
      keyed: true,
      request: json(webhookCreateSchema),
      responses: { 201: webhookCreatedSchema },
    },
    { method: 'get', path: '/v1/webhooks', summary: "The caller's webhook subscriptions (operators: all)", keyed: true, responses: { 200: webhookListSchema } },
    {
      method: 'delete',
      path: '/v1/webhooks/{id}',
      summary: 'Unsubscribe (its delivery log goes too)',
      keyed: true,
      responses: { 200: deleteResultSchema },
    },
    {
      method: 'get',
      path: '/v1/webhooks/{id}/deliveries',
      summary: 'Delivery log, newest first: state, attempts, last HTTP status and error',
      keyed: true,
      query: listDeliveriesQuerySchema(limits),
      responses: { 200: deliveryPageSchema },
    },
    {
      method: 'post',
      path: '/v1/webhooks/{id}/test',
      summary: 'Send a signed webhook.test event now and report how the receiver answered',
      keyed: true,
      responses: { 200: webhookTestResultSchema },
    },
    {
      method: 'post',
      path: '/v1/admin/ingest',
      summary: 'Start an ingest job from a folder under an allowed root, URLs, or uploaded files',
      keyed: true,
      request: upload(ingestRequestSchema, 'files', true),
      responses: { 202: ingestAcceptedSchema },
    },
    {
      method: 'post',
      path: '/v1/admin/watches',
      summary: 'Watch a library folder under INGEST_ROOTS for an owner: scanned now, then kept in sync (added, changed, removed, renamed files)',
      keyed: true,
      request: json(watchCreateSchema),
      responses: { 201: watchCreatedSchema },
    },
    {
      method: 'get',
      path: '/v1/admin/watches',
      summary: 'Watched folders (owner to narrow)',
      keyed: true,
      query: ownerQuerySchema,
      responses: { 200: watchListSchema },
    },
    {
      method: 'delete',
      path: '/v1/admin/watches/{id}',
      summary: 'Stop watching a folder (its images stay)',
      keyed: true,
      responses: { 200: deleteResultSchema },
    },
    {
      method: 'post',
      path: '/v1/admin/watches/{id}/rescan',
      summary: 'Compare the folder with the library now and catch up',
      keyed: true,
      responses: { 200: scanReportSchema },
    },
    {
      method: 'post',
      path: '/v1/admin/ocr/backfill',
      summary: 'Run OCR over images ingested while it was off (a resumable job; the originals when still on disk, else the previews)',
      keyed: true,
      request: { schema: ocrBackfillSchema, required: false },
      responses: { 202: backfillAcceptedSchema, 200: backfillAcceptedSchema },
    },
    {
      method: 'post',
      path: '/v1/admin/texts',
      summary: 'Add texts (captions, tags, names) to the image-to-text corpus',
      keyed: true,
      request: json(textIngestSchema),
      responses: { 200: textsAddedSchema },
    },
    {
      method: 'post',
      path: '/v1/admin/reconcile',
      summary: 'Compare Postgres with the vector store and optionally repair',
      keyed: true,
      request: { schema: z.object({ fix: z.boolean().default(false) }).strict(), required: false },
      responses: { 200: reconcileReportSchema },
    },
    { method: 'get', path: '/v1/admin/jobs/{id}', summary: 'Ingest job progress', keyed: true, responses: { 200: jobStatusSchema } },
    {
      method: 'delete',
      path: '/v1/owners/{owner}',
      summary: 'Admin: delete everything of one owner — images (rows, vectors, derivatives, captions), texts, jobs and webhooks (idempotent)',
      keyed: true,
      responses: { 200: ownerPurgeSchema },
    },
    {
      method: 'get',
      path: '/v1/admin/jobs',
      summary: 'Ingest jobs, newest first: a tenant sees its own, the operator everyone’s (owner to narrow), optionally in one state',
      keyed: true,
      query: listJobsQuerySchema(limits),
      responses: { 200: jobPageSchema },
    },
    {
      method: 'post',
      path: '/v1/admin/jobs/{id}/cancel',
      summary: 'Cancel a queued or running job: not resumed; a running one stops after the batch it is writing (409 when already finished)',
      keyed: true,
      responses: { 200: jobStatusSchema },
    },
    { method: 'get', path: '/healthz', summary: 'Liveness', keyed: false, responses: { 200: healthSchema } },
    {
      method: 'get',
      path: '/metrics',
      summary: 'Prometheus metrics: request latency by route, encoder runs, ingest items, OCR, webhooks',
      keyed: false,
      responses: { 200: { text: PROMETHEUS_TEXT } },
    },
    { method: 'get', path: '/v1/openapi.json', summary: 'This document', keyed: false, responses: { 200: openApiShape } },
    {
      method: 'get',
      path: '/readyz',
      summary: 'Readiness of database, vector store and model; says when the model is only the test pack',
      keyed: false,
      responses: { 200: readinessSchema, 503: readinessSchema },
    },
  ];
}

const requestJsonSchema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });
const responseJsonSchema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'output', unrepresentable: 'any' });

function requestBody(req: NonNullable<RouteContract['request']>) {
  const base = requestJsonSchema(req.schema) as { properties?: Record<string, unknown> };
  const content: Record<string, unknown> = { 'application/json': { schema: base } };
  if (req.upload) {
    const file = { type: 'string', format: 'binary' };
    content['multipart/form-data'] = {
      schema: { ...base, properties: { ...base.properties, [req.upload.field]: req.upload.many ? { type: 'array', items: file } : file } },
    };
  }
  return { required: req.required, content };
}

function response(status: number, r: ResponseContract) {
  if ('binary' in r) return { description: r.binary, content: { [r.binary]: { schema: { type: 'string', format: 'binary' } } } };
  if ('text' in r) return { description: r.text, content: { [r.text]: { schema: { type: 'string' } } } };
  return { description: status < 300 ? 'OK' : 'Not ready', content: { 'application/json': { schema: responseJsonSchema(r) } } };
}

export function openApiDocument(limits: Limits, version: string) {
  const errorResponse = { description: 'Error', content: { 'application/json': { schema: responseJsonSchema(errorResponseSchema) } } };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const c of routeContracts(limits)) {
    const queryProps = c.query ? ((requestJsonSchema(c.query) as { properties?: Record<string, unknown> }).properties ?? {}) : {};
    const params = [
      ...[...c.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
        name: m[1],
        in: 'path',
        required: true,
        schema: m[1] === 'id' ? { type: 'string', format: 'uuid' } : m[1] === 'segment' ? { type: 'integer', minimum: 0 } : { type: 'string' },
      })),
      ...Object.entries(queryProps).map(([name, schema]) => ({ name, in: 'query', required: false, schema })),
    ];
    const responses: Record<string, unknown> = Object.fromEntries(Object.entries(c.responses).map(([status, r]) => [status, response(Number(status), r)]));
    if (c.keyed) for (const status of ERRORS) responses[String(status)] ??= errorResponse;
    paths[c.path] = {
      ...paths[c.path],
      [c.method]: {
        summary: c.summary,
        ...(c.keyed ? {} : { security: [] }),
        ...(params.length ? { parameters: params } : {}),
        ...(c.request ? { requestBody: requestBody(c.request) } : {}),
        responses,
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'imagesearch',
      version,
      description: 'Semantic image search for Chinese-language photo libraries: text-to-image, image-to-image, image-to-text retrieval, captions and ingest.',
    },
    components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'API key as a bearer token (or the X-API-Key header)' } } },
    // Every /v1 operation needs a key; scopes and owner pinning are described in the README.
    security: [{ apiKey: [] }],
    paths,
  };
}
