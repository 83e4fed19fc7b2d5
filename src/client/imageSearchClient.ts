import type { z } from 'zod';
import { API_ROUTES, type RouteName } from '../api/contract';
import type { ErrorCode } from '../errors/codes';
import type * as Req from '../api/schemas/requests';
import type * as Res from '../api/schemas/responses';
import type { ImageRecord } from '../search/imageRecord';

/** Receivers check the webhook-signature header with this (the secret from createWebhook). */
export { verifyWebhook } from '../webhooks/signature';

/**
 * A typed client for the whole HTTP API, for photo products written in TypeScript. Methods and paths
 * come from the route declarations (src/api/contract) the server serves and documents, request and
 * response types from the same zod schemas, and a route without a method does not compile, so the
 * client and the API cannot drift apart. Uses the global fetch (Node 18+ and browsers).
 */
type Out<T extends z.ZodType> = z.output<T>;
type In<T extends z.ZodType> = z.input<T>;
type Limited<F extends (limits: Req.Limits) => z.ZodType> = ReturnType<F>;

export type SearchResponse = Out<typeof Res.searchResponseSchema>;
export type JobStatus = Out<typeof Res.jobStatusSchema>;
export type Filters = In<typeof Req.filtersSchema>;
export type ImagePatch = In<typeof Req.imagePatchSchema>;
export type { ImageRecord };

/** A file to upload: bytes and a name (the name's extension does not matter; the content decides). */
export interface UploadFile {
  name: string;
  data: Uint8Array;
}

/** The library listing's filters as values; the client writes them into the query string. */
export type ListImagesQuery = Omit<Out<Limited<typeof Req.listImagesQuerySchema>>, 'cursor' | 'sort' | 'limit'> & {
  sort?: 'takenAt' | 'ingestedAt';
  limit?: number;
  cursor?: string;
};

/** Prometheus scrapes the metrics and code generators read the document: a product's client needs neither. */
export const TOOL_ROUTES = ['metrics', 'openapi'] as const satisfies readonly RouteName[];

/** A method for every other route of the API, named as the route is declared: a route without one does not compile. */
type ClientMethods = { [K in Exclude<RouteName, (typeof TOOL_ROUTES)[number]>]: (...args: never[]) => Promise<unknown> };

/** An error answer of the API: its HTTP status and the JSON error body's code, message and details. */
export class ImageSearchError extends Error {
  constructor(
    readonly status: number,
    /** From the error catalogue (src/errors/codes.ts); http_error when the answer was not the API's JSON error. */
    readonly code: ErrorCode | 'http_error',
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ImageSearchError';
  }
}

type QueryValue = string | number | boolean | Date | readonly string[] | Record<string, number> | undefined;

function queryString(q: Record<string, QueryValue> | undefined): string {
  if (!q) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined) continue;
    if (v instanceof Date) params.set(k, v.toISOString());
    else if (Array.isArray(v)) params.set(k, v.join(','));
    else if (typeof v === 'object') params.set(k, Object.values(v as Record<string, number>).join(','));
    else params.set(k, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

interface CallOptions {
  params?: Record<string, string>;
  query?: Record<string, QueryValue> | undefined;
  json?: unknown;
  form?: { fields: Record<string, unknown>; files: { field: string; file: UploadFile }[] };
  binary?: boolean;
}

export interface ClientOptions {
  /** e.g. http://127.0.0.1:8080 */
  baseUrl: string;
  apiKey?: string | undefined;
  fetch?: typeof fetch;
}

export class ImageSearchClient implements ClientMethods {
  private readonly baseUrl: string;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly opts: ClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/$/, '');
    this.fetchFn = opts.fetch ?? fetch;
  }

  private async call<T>(route: RouteName, o: CallOptions = {}): Promise<T> {
    const { method, path: template } = API_ROUTES[route];
    const path = template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(o.params?.[name] ?? ''));
    const headers: Record<string, string> = this.opts.apiKey ? { authorization: `Bearer ${this.opts.apiKey}` } : {};
    let body: string | FormData | undefined;
    if (o.form) {
      const form = new FormData();
      for (const [k, v] of Object.entries(o.form.fields)) if (v !== undefined) form.set(k, typeof v === 'string' ? v : JSON.stringify(v));
      for (const { field, file } of o.form.files) form.append(field, new Blob([file.data]), file.name);
      body = form;
    } else if (o.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(o.json);
    }
    const res = await this.fetchFn(`${this.baseUrl}${path}${queryString(o.query)}`, { method: method.toUpperCase(), headers, body });
    if (!res.ok && !(route === 'ready' && res.status === 503)) {
      const err = (await res.json().catch(() => null)) as { error?: { code?: ErrorCode; message?: string; details?: unknown } } | null;
      throw new ImageSearchError(res.status, err?.error?.code ?? 'http_error', err?.error?.message ?? `HTTP ${res.status}`, err?.error?.details);
    }
    return (o.binary ? Buffer.from(await res.arrayBuffer()) : await res.json()) as T;
  }

  // Search and retrieval
  readonly searchText = (body: In<Limited<typeof Req.textSearchSchema>>): Promise<SearchResponse> => this.call('searchText', { json: body });
  /** By an indexed image's id, or by an uploaded image. */
  searchImage(body: In<Limited<typeof Req.imageSearchSchema>> & { image?: UploadFile }): Promise<SearchResponse> {
    const { image, ...fields } = body;
    return image ? this.call('searchImage', { form: { fields, files: [{ field: 'image', file: image }] } }) : this.call('searchImage', { json: fields });
  }
  retrieveText(body: In<Limited<typeof Req.retrieveTextSchema>> & { image?: UploadFile }): Promise<Out<typeof Res.retrieveResponseSchema>> {
    const { image, ...fields } = body;
    return image ? this.call('retrieveText', { form: { fields, files: [{ field: 'image', file: image }] } }) : this.call('retrieveText', { json: fields });
  }
  classify(body: In<Limited<typeof Req.classifySchema>> & { image?: UploadFile }): Promise<Out<typeof Res.classifyResponseSchema>> {
    const { image, ...fields } = body;
    return image ? this.call('classify', { form: { fields, files: [{ field: 'image', file: image }] } }) : this.call('classify', { json: fields });
  }

  // One image
  /** The record with the text OCR read in the image. */
  readonly getImage = (id: string, owner?: string): Promise<Out<typeof Res.imageDetailSchema>> => this.call('getImage', { params: { id }, query: { owner } });
  getCaption(id: string, owner?: string): Promise<Out<typeof Res.imageCaptionResponseSchema>> {
    return this.call('getCaption', { params: { id }, query: { owner } });
  }
  readonly thumbnail = (id: string, owner?: string): Promise<Buffer> => this.call('thumbnail', { params: { id }, query: { owner }, binary: true });
  readonly preview = (id: string, owner?: string): Promise<Buffer> => this.call('preview', { params: { id }, query: { owner }, binary: true });
  /** One sampled frame of a video, Live Photo or animation (a hit's segment.index). */
  segmentThumbnail(id: string, segment: number, owner?: string): Promise<Buffer> {
    return this.call('segmentThumbnail', { params: { id, segment: String(segment) }, query: { owner }, binary: true });
  }
  segmentPreview(id: string, segment: number, owner?: string): Promise<Buffer> {
    return this.call('segmentPreview', { params: { id, segment: String(segment) }, query: { owner }, binary: true });
  }
  /** The whole movie of a video or Live Photo (players should use a hit's signed videoUrl, which seeks). */
  readonly movie = (id: string, owner?: string): Promise<Buffer> => this.call('movie', { params: { id }, query: { owner }, binary: true });

  // Near-duplicates
  /** One owner's near-duplicate groups (owner required with an operator key), each with the member to keep. */
  listDuplicates(query: { owner?: string; includeDismissed?: boolean; limit?: number; cursor?: string } = {}): Promise<Out<typeof Res.duplicatePageSchema>> {
    return this.call('listDuplicates', { query });
  }
  dismissDuplicates(groupId: string, owner?: string): Promise<Out<typeof Res.duplicateDismissedSchema>> {
    return this.call('dismissDuplicates', { params: { id: groupId }, query: { owner } });
  }

  // The library
  readonly listImages = (query: ListImagesQuery = {}): Promise<Out<typeof Res.imagePageSchema>> => this.call('listImages', { query });
  updateImage(id: string, patch: ImagePatch, owner?: string): Promise<ImageRecord> {
    return this.call('updateImage', { params: { id }, query: { owner }, json: patch });
  }
  deleteImage(id: string, owner?: string): Promise<Out<typeof Res.deleteResultSchema>> {
    return this.call('deleteImage', { params: { id }, query: { owner } });
  }
  getByExternalId(externalId: string, owner?: string): Promise<ImageRecord> {
    return this.call('getByExternalId', { params: { externalId }, query: { owner } });
  }
  updateByExternalId(externalId: string, patch: ImagePatch, owner?: string): Promise<ImageRecord> {
    return this.call('updateByExternalId', { params: { externalId }, query: { owner }, json: patch });
  }
  deleteByExternalId(externalId: string, owner?: string): Promise<Out<typeof Res.externalDeleteResultSchema>> {
    return this.call('deleteByExternalId', { params: { externalId }, query: { owner } });
  }
  readonly deleteImages = (body: In<typeof Req.bulkDeleteSchema>): Promise<Out<typeof Res.bulkDeleteResultSchema>> => this.call('deleteImages', { json: body });

  // Ingest
  /** From a folder or URLs (JSON), or from files (multipart), each with an optional externalId. */
  ingest(
    body: Omit<In<typeof Req.ingestRequestSchema>, 'externalIds'> & { files?: (UploadFile & { externalId?: string })[] },
  ): Promise<Out<typeof Res.ingestAcceptedSchema>> {
    const { files, ...fields } = body;
    if (!files) return this.call('ingest', { json: fields });
    const named = files.filter((f) => f.externalId !== undefined).length;
    if (named !== 0 && named !== files.length) throw new Error('give every file an externalId, or none');
    const externalIds = named ? files.map((f) => f.externalId!) : undefined;
    return this.call('ingest', { form: { fields: { ...fields, externalIds }, files: files.map((file) => ({ field: 'files', file })) } });
  }
  readonly getJob = (id: string): Promise<JobStatus> => this.call('getJob', { params: { id } });
  /** Polls a job until it has completed, failed or been cancelled. */
  async waitForJob(id: string, { intervalMs = 250, timeoutMs = 600_000 } = {}): Promise<JobStatus> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const job = await this.getJob(id);
      if (job.state !== 'queued' && job.state !== 'running') return job;
      if (Date.now() > until) throw new Error(`job ${id} still ${job.state} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
  listJobs(query: { owner?: string; state?: JobStatus['state']; limit?: number; cursor?: string } = {}): Promise<Out<typeof Res.jobPageSchema>> {
    return this.call('listJobs', { query });
  }
  readonly cancelJob = (id: string): Promise<JobStatus> => this.call('cancelJob', { params: { id } });
  readonly retryJob = (id: string): Promise<JobStatus> => this.call('retryJob', { params: { id } });
  /** OCR over images ingested while it was off; jobId null when there is nothing to read. */
  ocrBackfill(body: In<typeof Req.ocrBackfillSchema> = {}): Promise<Out<typeof Res.backfillAcceptedSchema>> {
    return this.call('ocrBackfill', { json: body });
  }
  readonly addTexts = (body: In<typeof Req.textIngestSchema>): Promise<Out<typeof Res.textsAddedSchema>> => this.call('addTexts', { json: body });
  readonly watchFolder = (body: In<typeof Req.watchCreateSchema>): Promise<Out<typeof Res.watchCreatedSchema>> => this.call('watchFolder', { json: body });
  readonly listWatches = (owner?: string): Promise<Out<typeof Res.watchListSchema>> => this.call('listWatches', { query: { owner } });
  readonly unwatchFolder = (id: string): Promise<Out<typeof Res.deleteResultSchema>> => this.call('unwatchFolder', { params: { id } });
  readonly rescanWatch = (id: string): Promise<Out<typeof Res.scanReportSchema>> => this.call('rescanWatch', { params: { id } });

  // Events
  createWebhook(body: In<typeof Req.webhookCreateSchema>): Promise<Out<typeof Res.webhookCreatedSchema>> {
    return this.call('createWebhook', { json: body });
  }
  readonly listWebhooks = (): Promise<Out<typeof Res.webhookListSchema>> => this.call('listWebhooks');
  readonly deleteWebhook = (id: string): Promise<Out<typeof Res.deleteResultSchema>> => this.call('deleteWebhook', { params: { id } });
  webhookDeliveries(id: string, query: { limit?: number; cursor?: string } = {}): Promise<Out<typeof Res.deliveryPageSchema>> {
    return this.call('webhookDeliveries', { params: { id }, query });
  }
  readonly testWebhook = (id: string): Promise<Out<typeof Res.webhookTestResultSchema>> => this.call('testWebhook', { params: { id } });

  // Pull workers (a key with scope worker)
  /** The next ingest batch for a worker serving `pack`; `lease` is null when none waits. */
  readonly leaseBatch = (pack: string): Promise<Out<typeof Res.workerLeaseResultSchema>> => this.call('leaseBatch', { json: { pack } });
  answerBatch(id: string, body: In<typeof Req.workerAnswerSchema>): Promise<Out<typeof Res.workerAnswerResultSchema>> {
    return this.call('answerBatch', { params: { id }, json: body });
  }
  /** An owner's settings (the owner is required with an operator key). */
  readonly getSettings = (owner?: string): Promise<Out<typeof Res.ownerSettingsSchema>> => this.call('getSettings', { query: { owner } });
  updateSettings(body: In<typeof Req.settingsPatchSchema>, owner?: string): Promise<Out<typeof Res.ownerSettingsSchema>> {
    return this.call('updateSettings', { query: { owner }, json: body });
  }
  /** Where an owner's photos were taken, with counts: the names a `place` filter takes. */
  readonly listPlaces = (owner?: string): Promise<Out<typeof Res.placeFacetSchema>> => this.call('listPlaces', { query: { owner } });
  readonly leaseCaption = (captioner: string): Promise<Out<typeof Res.captionLeaseResultSchema>> => this.call('leaseCaption', { json: { captioner } });
  answerCaption(imageId: string, body: In<typeof Req.captionAnswerSchema>): Promise<Out<typeof Res.captionAnswerResultSchema>> {
    return this.call('answerCaption', { params: { imageId }, json: body });
  }

  // Keys (operator)
  /** A tenant key (owner; scopes search, ingest) or an operator key; `key` is shown only in this answer. */
  readonly createKey = (body: In<typeof Req.keyCreateSchema>): Promise<Out<typeof Res.apiKeyCreatedSchema>> => this.call('createKey', { json: body });
  readonly listKeys = (): Promise<Out<typeof Res.apiKeyListSchema>> => this.call('listKeys');
  readonly revokeKey = (id: string): Promise<Out<typeof Res.apiKeyRevokedSchema>> => this.call('revokeKey', { params: { id } });

  // Operations
  readonly reconcile = (fix = false): Promise<Out<typeof Res.reconcileReportSchema>> => this.call('reconcile', { json: { fix } });
  readonly purgeOwner = (owner: string): Promise<Out<typeof Res.ownerPurgeSchema>> => this.call('purgeOwner', { params: { owner } });
  readonly health = (): Promise<Out<typeof Res.healthSchema>> => this.call('health');
  readonly ready = (): Promise<Out<typeof Res.readinessSchema>> => this.call('ready');
}
