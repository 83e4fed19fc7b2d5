import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../../errors/codes';
import { imageHitSchema, imageRecordSchema, placeSchema, segmentSchema } from '../../search/imageRecord';

/**
 * Response bodies as they go over the wire (dates as ISO strings). The OpenAPI document is generated
 * from these, the contract test validates real responses against them, and the web page imports
 * their types.
 */
export const errorResponseSchema = z.object({
  error: z.object({
    code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]).describe('one of the catalogue (src/errors/codes.ts), which fixes the HTTP status'),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});

export const captionSchema = z.object({
  text: z.string(),
  model: z.string(),
  score: z.number().nullable(),
  original: z.string().nullable().optional().describe("the captioner's own words when the pack translated them (English)"),
});

const hitSegmentSchema = segmentSchema.extend({ thumbnailUrl: z.string().describe("signed URL of the frame's thumbnail") });

export const searchHitSchema = imageHitSchema.extend({
  thumbnailUrl: z.string().describe('signed URL, usable in <img> without a key until it expires'),
  previewUrl: z.string(),
  videoUrl: z.string().optional().describe('signed URL of the movie (videos, Live Photos), seekable with Range requests'),
  segment: hitSegmentSchema.optional().describe('where in a video the query matched best; each asset is returned once, at its best frame'),
  otherSegments: z.array(hitSegmentSchema).optional().describe('further matching stretches of the same video, best first'),
  caption: captionSchema.nullable().optional().describe('present when captions were asked for; null when none could be made'),
  captionError: z.string().optional().describe('why a requested caption is missing'),
});

export const searchResponseSchema = z.object({
  model: z.string().describe('name@version of the model pack that ranked the hits'),
  query: z.string().optional().describe('the normalised text query'),
  mode: z.enum(['semantic', 'ocr', 'hybrid']).optional().describe('how a text query was answered'),
  parsed: z
    .object({
      text: z.string().describe('what was searched'),
      excluded: z.array(z.string()).describe('concepts left out ("-word", exclude)'),
      dates: z
        .object({ phrase: z.string(), from: z.iso.datetime(), to: z.iso.datetime() })
        .nullable()
        .describe('the date phrase understood and the capture-date range it became'),
      place: z
        .object({ phrase: z.string(), place: z.string().describe('the place filter it became') })
        .nullable()
        .describe('the place named in the words (北京的雪 → 北京), when photos were taken there'),
    })
    .optional()
    .describe('text queries: how the query was read'),
  hits: z.array(searchHitSchema),
  noGoodMatch: z.boolean().describe('no hit of this page is a good match (every relevance below 0.5), or there is none'),
  nextCursor: z.string().nullable(),
  tookMs: z.number(),
});

export const textHitSchema = z.object({ id: z.string(), externalId: z.string().nullable(), text: z.string(), owner: z.string().nullable(), score: z.number() });
export const retrieveResponseSchema = z.object({ hits: z.array(textHitSchema), tookMs: z.number() });

export const classifyResponseSchema = z.object({
  labels: z.array(z.object({ label: z.string(), score: z.number(), probability: z.number() })),
});

export const imageCaptionResponseSchema = z.union([z.object({ caption: captionSchema }), z.object({ caption: z.null(), captionError: z.string() })]);

export const ingestAcceptedSchema = z.object({ jobId: z.uuid(), statusUrl: z.string() });
export const backfillAcceptedSchema = z.object({
  jobId: z.uuid().nullable().describe('null when every image has been read already'),
  statusUrl: z.string().nullable(),
});
export const textsAddedSchema = z.object({ ids: z.array(z.string()), count: z.number().int() });

export const reconcileReportSchema = z.object({
  missingVectors: z.array(z.string()),
  orphanPoints: z.array(z.string()),
  staleModel: z.array(z.string()),
  stuckPending: z.array(z.string()),
  pendingDeletes: z.array(z.string()),
  payloadDrift: z.array(z.string()).describe('indexed images whose vector payload (what the search filters read) differs from their row'),
  orphanFiles: z.array(z.string()).describe('derivative files of no image'),
  reindexJobId: z.string().nullable(),
});

const stageCountsSchema = z.object({ pending: z.number().int(), done: z.number().int(), failed: z.number().int() });

export const jobStatusSchema = z.object({
  id: z.uuid(),
  owner: z.string(),
  kind: z.enum(['folder', 'upload', 'url', 'reindex', 'ocr']),
  state: z.enum(['queued', 'running', 'completed', 'failed', 'cancelled']),
  waiting: z
    .boolean()
    .describe(
      'true while the job is unfinished and no worker runs it: queued behind other jobs, between its turns (JOB_TURN_MS: a long import gives way to jobs queued after it), or waiting out an outage (error says which)',
    ),
  albums: z.array(z.string()),
  error: z.string().nullable(),
  createdAt: z.iso.datetime(),
  startedAt: z.iso.datetime().nullable(),
  finishedAt: z.iso.datetime().nullable(),
  total: z.number().int(),
  done: z.number().int(),
  skipped: z.number().int(),
  failed: z.number().int(),
  pending: z.number().int(),
  errors: z.array(z.object({ source: z.string(), error: z.string() })).describe('the latest item errors'),
  ocr: stageCountsSchema.describe("OCR of the job's images (it runs beside the vector path; a failure leaves the image searchable by meaning)"),
  stages: z
    .record(z.string(), stageCountsSchema)
    .describe("each background stage over the job's images, by name (duplicates, autoTags, captions): made after the vectors are stored"),
});

export const deleteResultSchema = z.object({
  id: z.string(),
  deleted: z.boolean().describe('false when there was nothing (left) to delete: deleting is idempotent'),
});

export const externalDeleteResultSchema = z.object({
  externalId: z.string(),
  id: z.string().nullable().describe('the deleted image, null when there was none'),
  deleted: z.boolean(),
});

export const bulkDeleteResultSchema = z.object({
  deleted: z.array(z.object({ id: z.string(), externalId: z.string().nullable(), owner: z.string() })).describe('images that were there to delete'),
  count: z.number().int(),
});

export const ocrLineSchema = z.object({
  text: z.string(),
  confidence: z.number(),
  box: z.tuple([z.number(), z.number(), z.number(), z.number()]).describe('[left, top, right, bottom] in image pixels'),
});
export const imageDetailSchema = imageRecordSchema.extend({
  text: z
    .object({
      state: z.enum(['pending', 'done', 'failed']).nullable().describe('null: ingested while OCR was off (POST /v1/admin/ocr/backfill reads it)'),
      error: z.string().nullable(),
      engine: z.string().nullable(),
      lines: z.array(ocrLineSchema),
    })
    .describe('the text OCR read in the image'),
  caption: z
    .object({
      text: z.string(),
      original: z.string().nullable().describe("the captioner's own words when the pack translated them (English), else null"),
      model: z.string().describe('the captioner that wrote it'),
      language: z.enum(['zh', 'en', 'other']).describe('by the script of the text'),
      createdAt: z.iso.datetime(),
    })
    .nullable()
    .describe(
      'the caption the configured captioner stored for the image; null until it has (GET /v1/images/{id}/caption makes one, or answers with the auto tags)',
    ),
});

export const imagePageSchema = z.object({ images: z.array(imageRecordSchema), nextCursor: z.string().nullable() });

export const ownerSettingsSchema = z.object({
  owner: z.string(),
  timeZone: z.string().nullable().describe('the zone the owner set; null: none'),
  effectiveTimeZone: z.string().describe("the zone the owner's queries are read in: its own, else DEFAULT_TIME_ZONE"),
});

export const placeFacetSchema = z.object({
  places: z
    .array(z.object({ place: placeSchema, count: z.number().int() }))
    .describe('each place (country, province, city) the photos were taken, with how many, most first; any of its names is a `place` filter'),
});

export const duplicateGroupSchema = z.object({
  id: z.uuid(),
  dismissed: z.boolean(),
  suggestedKeep: z.uuid().describe('the member to keep: not edited, then the most pixels, then the sharpest'),
  members: z.array(
    z.object({
      image: imageRecordSchema,
      segment: z.number().int().nullable().describe('the frame of a video that is the near-duplicate; null for a photo'),
      via: z.enum(['vector', 'phash']).describe('vector: embeddings closer than DUPLICATE_THRESHOLD; phash: the same pixels re-encoded'),
      similarity: z.number(),
      thumbnailUrl: z.string(),
    }),
  ),
});

export const duplicatePageSchema = z.object({ groups: z.array(duplicateGroupSchema), nextCursor: z.string().nullable() });
export const duplicateDismissedSchema = z.object({ id: z.uuid(), dismissed: z.literal(true) });

export const jobPageSchema = z.object({ jobs: z.array(jobStatusSchema), nextCursor: z.string().nullable() });

export const ownerPurgeSchema = z.object({
  owner: z.string(),
  images: z.number().int().describe('images deleted (hidden at once; vectors and files removed after)'),
  texts: z.number().int(),
  jobs: z.number().int(),
  webhooks: z.number().int(),
  watches: z.number().int().describe('watched folders no longer watched (their files stay on disk)'),
});

export const scanReportSchema = z.object({
  folderId: z.uuid(),
  added: z.number().int(),
  changed: z.number().int(),
  removed: z.number().int().describe('files gone from disk: their images were deleted'),
  renamed: z.number().int().describe('files moved within the folder: their images kept id and vector'),
  jobId: z.uuid().nullable().describe('the job ingesting added and changed files'),
});
export const watchedFolderSchema = z.object({
  id: z.uuid(),
  owner: z.string(),
  path: z.string(),
  albums: z.array(z.string()),
  externalIdPrefix: z.string(),
  createdAt: z.iso.datetime(),
  lastScanAt: z.iso.datetime().nullable(),
});
export const watchCreatedSchema = z.object({ folder: watchedFolderSchema, scan: scanReportSchema });
export const watchListSchema = z.object({ watches: z.array(watchedFolderSchema) });

export const webhookSchema = z.object({
  id: z.uuid(),
  owner: z.string().nullable().describe('null: a global subscription (every owner)'),
  url: z.string(),
  events: z.array(z.string()).describe('empty: all event types'),
  createdAt: z.iso.datetime(),
});
export const webhookCreatedSchema = webhookSchema.extend({
  secret: z.string().describe('shown only now: verify the webhook-signature header with it (Standard Webhooks, HMAC-SHA256)'),
});
export const webhookListSchema = z.object({ webhooks: z.array(webhookSchema) });

export const deliverySchema = z.object({
  id: z.uuid(),
  eventId: z.uuid().describe('the webhook-id header: the same for every retry of one event'),
  type: z.string(),
  state: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  lastStatus: z.number().int().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.iso.datetime(),
  deliveredAt: z.iso.datetime().nullable(),
  nextAttemptAt: z.iso.datetime().nullable(),
});
export const deliveryPageSchema = z.object({ deliveries: z.array(deliverySchema), nextCursor: z.string().nullable() });
export const webhookTestResultSchema = z.object({
  eventId: z.uuid(),
  state: z.enum(['pending', 'delivered', 'failed']),
  status: z.number().int().nullable().describe("the receiver's HTTP status"),
  error: z.string().nullable(),
});

export const healthSchema = z.object({ status: z.literal('ok') });

const check = z.object({ ok: z.boolean(), error: z.string().optional() });
export const readinessSchema = z.object({
  status: z.enum(['ready', 'not_ready']),
  checks: z.object({
    database: check,
    vectorStore: check.extend({ kind: z.string() }),
    model: z.object({
      ok: z.boolean(),
      pack: z.string(),
      meaningful: z.boolean(),
      warning: z.string().optional(),
      maxBatch: z
        .object({ image: z.number().int().nullable(), text: z.number().int().nullable() })
        .describe("items per encoder run the pack's graphs take (null: any); a pack fixed at 1 encodes searches and ingest one item at a time"),
      install: z
        .object({
          state: z.enum(['downloading', 'installing', 'switching', 'ready', 'failed']),
          repo: z.string(),
          step: z.string().nullable(),
          receivedBytes: z.number().int(),
          totalBytes: z.number().int(),
          bytesPerSecond: z.number().nullable(),
          etaSeconds: z.number().nullable(),
          pack: z.string().nullable().describe('the pack switched to, once ready'),
          reindexJobId: z.string().nullable().describe('the job re-embedding the library with it'),
          error: z.string().nullable(),
        })
        .nullable()
        .describe('the real model, fetched in the background on a first start (null when none is being fetched)'),
    }),
    accepting: z.boolean(),
    encoders: z
      .array(
        z.object({
          url: z.string(),
          state: z.enum(['unknown', 'up', 'down', 'incompatible']),
          inFlight: z.number().int(),
          queued: z.number().int(),
          error: z.string().optional(),
        }),
      )
      .optional()
      .describe('remote encoders (ENCODER_URLS); the local pack answers while none is up'),
  }),
});

export const apiKeySchema = z.object({
  id: z.uuid(),
  name: z.string(),
  prefix: z.string().describe('the first characters of the key, to tell keys apart'),
  owner: z.string().nullable().describe('the owner a tenant key acts for; null for an operator key'),
  scopes: z.array(z.string()),
  createdAt: z.iso.datetime(),
  revokedAt: z.iso.datetime().nullable(),
  lastUsedAt: z.iso.datetime().nullable(),
});
export const apiKeyCreatedSchema = z.object({
  id: z.uuid(),
  key: z.string().describe('shown only now: only its hash is stored'),
  prefix: z.string(),
  owner: z.string().nullable(),
  scopes: z.array(z.string()),
});
export const apiKeyListSchema = z.object({ keys: z.array(apiKeySchema) });
export const apiKeyRevokedSchema = z.object({ id: z.uuid(), revoked: z.boolean().describe('false when the key was revoked already') });

export { captionAnswerResultSchema, captionLeaseResultSchema, workerAnswerResultSchema, workerLeaseResultSchema } from '../../remoteEncoders/protocol';

export type ErrorResponse = z.infer<typeof errorResponseSchema>;
export type SearchHit = z.infer<typeof searchHitSchema>;
export type PlaceFacet = z.infer<typeof placeFacetSchema>;
export type SearchResponse = z.infer<typeof searchResponseSchema>;
export type RetrieveResponse = z.infer<typeof retrieveResponseSchema>;
export type ImageCaptionResponse = z.infer<typeof imageCaptionResponseSchema>;
export type IngestAccepted = z.infer<typeof ingestAcceptedSchema>;
export type JobStatusResponse = z.infer<typeof jobStatusSchema>;
export type Readiness = z.infer<typeof readinessSchema>;
export type ImageDetail = z.infer<typeof imageDetailSchema>;
export type DuplicateGroup = z.infer<typeof duplicateGroupSchema>;
export type DuplicatePage = z.infer<typeof duplicatePageSchema>;
export type { ImageRecord } from '../../search/imageRecord';
