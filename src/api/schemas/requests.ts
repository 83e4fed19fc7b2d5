import { z } from 'zod';
import { placeKey } from '../../places/place';
import { normalizeQuery } from '../../search/textQuery';
import { ownerName, textInputSchema } from '../../search/textInput';
import { nulAt, NUL_MESSAGE } from '../../util/nul';
import { UUID_RE } from '../../util/uuid';
import { SUBSCRIBABLE_EVENTS } from '../../events/events';
import { OPERATOR_SCOPES, SCOPES, TENANT_SCOPES } from '../../auth/principal';
import { timeZoneSchema } from '../../util/timeZone';

/** Request shapes: validated here, and the source of the OpenAPI document's request bodies. */
export interface Limits {
  queryMaxChars: number;
  searchMaxLimit: number;
}

export const MAX_OFFSET = 10_000;

const albumName = z.string().trim().min(1).max(128);
const tagName = z.string().trim().min(1).max(64);
/** Albums and tags are sets: a name given twice (after trimming) is kept once, in the order first given. */
const nameSet = (name: z.ZodString, max: number) =>
  z
    .array(name)
    .max(max)
    .transform((names) => [...new Set(names)]);
const isoDate = z.iso.datetime({ offset: true }).transform((s) => new Date(s));
/** A capture-time bound: a timestamp, or a date for its whole day (UTC, as EXIF times without an offset are kept). */
const takenBound = (edge: 'first' | 'last') =>
  z
    .union([z.iso.datetime({ offset: true }), z.iso.date()])
    .transform((s) => new Date(s.length > 10 ? s : `${s}T${edge === 'first' ? '00:00:00.000' : '23:59:59.999'}Z`))
    .describe(`ISO timestamp, or a date (YYYY-MM-DD) standing for its ${edge} instant (UTC)`);
/** `?owner=` on routes that read or change one image (operators name the owner; tenants are pinned anyway). */
export const ownerQuerySchema = z.object({ owner: z.string().min(1).max(128).optional() });

/** The photo product's id for an asset: any text it likes, short enough to index. */
export const externalIdSchema = z
  .string()
  .min(1)
  .max(512)
  .refine((s) => ![...s].some((c) => c.charCodeAt(0) < 0x20), 'must not contain control characters');

const latitude = z.number().min(-90).max(90);
const longitude = z.number().min(-180).max(180);
export const geoCircleSchema = z.object({ lat: latitude, lon: longitude, radiusKm: z.number().positive().max(20_000) }).strict();
export const geoBoxSchema = z
  .object({ south: latitude, west: longitude, north: latitude, east: longitude })
  .strict()
  .refine((b) => b.south <= b.north, 'south must not be north of north')
  .describe('west > east crosses the antimeridian');
const mediaType = z.enum(['image', 'video']);
const cameraName = z.string().trim().min(1).max(128).describe('EXIF make and model as image records show it');

export const imageIdSchema = z
  .string()
  .regex(UUID_RE, 'must be a UUID')
  .transform((s) => s.toLowerCase());

/** A country, province or city in Chinese or English (北京, 北京市, Beijing, 浙江, 日本, Paris): photos whose GPS position is there. */
const placeFilter = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .transform(placeKey)
  .describe('a country, province or city, in Chinese or English (北京, 浙江省, 日本, Paris): photos taken there (by their GPS position)');

/** PATCH /v1/settings */
export const settingsPatchSchema = z
  .object({
    timeZone: timeZoneSchema
      .nullable()
      .optional()
      .describe("IANA zone the owner's queries' dates are read in (a request's timeZone still wins); null: DEFAULT_TIME_ZONE"),
  })
  .strict();

export const filtersSchema = z
  .object({
    owner: ownerName.optional(),
    album: albumName.optional(),
    takenFrom: takenBound('first').optional(),
    takenTo: takenBound('last').optional(),
    favorite: z.boolean().optional(),
    tags: z.array(tagName).max(16).optional(),
    autoTags: z.array(tagName).max(16).optional().describe('auto tags the image carries, every one (see GET /v1/autotags/vocabulary)'),
    place: placeFilter.optional(),
    includeHidden: z.boolean().optional(),
    includeArchived: z.boolean().optional(),
    mediaType: mediaType.optional(),
    camera: cameraName.optional(),
    near: geoCircleSchema.optional().describe('EXIF GPS position within radiusKm of lat/lon'),
    within: geoBoxSchema.optional().describe('EXIF GPS position inside the box'),
  })
  .strict()
  .refine((f) => !f.takenFrom || !f.takenTo || f.takenFrom <= f.takenTo, 'takenFrom must not be after takenTo');

/** Cursors are base64url JSON, opaque so clients do not build them; anything not of `shape` is an invalid cursor. */
const encodeOpaque = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
function opaqueCursor<T>(shape: z.ZodType<T>, maxLength: number) {
  return z
    .string()
    .max(maxLength)
    .transform((c, ctx) => {
      try {
        const parsed = shape.safeParse(JSON.parse(Buffer.from(c, 'base64url').toString('utf8')));
        if (parsed.success) return parsed.data;
      } catch {
        // reported below
      }
      ctx.addIssue({ code: 'custom', message: 'invalid cursor' });
      return z.NEVER;
    });
}

/** The cursor of ranked and logged lists: the next page's offset. */
export function encodeCursor(offset: number): string {
  return encodeOpaque({ o: offset });
}

const cursorSchema = opaqueCursor(z.object({ o: z.number().int().min(0).max(MAX_OFFSET) }), 200).transform((c) => c.o);

const librarySort = z.enum(['takenAt', 'ingestedAt']);
type LibrarySort = z.infer<typeof librarySort>;

/** The library listing's cursor: the sort it was made for, and the last image shown (its sort time and id). */
export function encodeLibraryCursor(sort: LibrarySort, last: { at: Date | null; id: string }): string {
  return encodeOpaque({ s: sort, t: last.at?.getTime() ?? null, i: last.id });
}

const libraryCursorSchema = opaqueCursor(
  z
    .object({ s: librarySort, t: z.number().int().nullable(), i: z.string().regex(UUID_RE) })
    .strict()
    // Every photo has an ingest time: only capture order has undated positions.
    .refine((c) => c.t !== null || c.s === 'takenAt'),
  300,
).transform((c) => ({ sort: c.s, after: { at: c.t === null ? null : new Date(c.t), id: c.i } }));

/** Multipart forms carry nested objects as JSON text. */
const jsonField = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v, ctx) => {
    if (typeof v !== 'string') return v;
    let parsed: unknown;
    try {
      parsed = JSON.parse(v) as unknown;
    } catch {
      return v;
    }
    // The request's own check saw this field as text: a NUL escaped inside its JSON shows only now.
    const nul = nulAt(parsed, 'the value');
    if (nul === null) return parsed;
    ctx.addIssue({ code: 'custom', message: `${nul} ${NUL_MESSAGE}` });
    return z.NEVER;
  }, schema);

/** A list in a multipart form: JSON array text, the field repeated, or a single plain value (`-F albums=旅行`). */
const listField = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === 'string' && !v.trimStart().startsWith('[') ? [v] : v), jsonField(schema));

export function pagingShape(limits: Limits) {
  return {
    limit: z.coerce.number().int().min(1).max(limits.searchMaxLimit).default(20),
    offset: z.coerce.number().int().min(0).max(MAX_OFFSET).optional(),
    cursor: cursorSchema.optional(),
    filters: jsonField(filtersSchema).default({}),
  };
}

export function textSearchSchema(limits: Limits) {
  return z
    .object({
      query: z
        .string()
        .transform(normalizeQuery)
        .pipe(z.string().min(1, 'query is empty').max(limits.queryMaxChars, `query is longer than ${limits.queryMaxChars} characters`)),
      ...pagingShape(limits),
      caption: z.boolean().default(false),
      imageId: imageIdSchema.optional().describe('an indexed image the photos should also look like ("like this one, but at night")'),
      readDates: z
        .boolean()
        .default(true)
        .describe('read dates in the words (去年夏天, 上个月) as a capture-date range; false searches them as words (a sign reading 周末特价)'),
      readPlaces: z
        .boolean()
        .default(true)
        .describe('read a place in the words (北京的雪) as a place filter, when the photos have been taken there; false searches it as words'),
      timeZone: timeZoneSchema.optional().describe("IANA time zone the query's dates (昨天, 上个月, 去年夏天) are read in; default DEFAULT_TIME_ZONE"),
      imageWeight: z.number().min(0).max(1).default(0.5).describe("with imageId: the image's share of the combined query"),
      exclude: z
        .array(z.string().trim().min(1).max(64))
        .max(8)
        .optional()
        .describe('concepts the photos must not show (nor print, nor be captioned or tagged with); "-word" in the query does the same'),
      mode: z
        .enum(['semantic', 'ocr', 'hybrid'])
        .optional()
        .describe('semantic: the image encoder; ocr: words read in the images; hybrid: both, fused. Default: hybrid when OCR is on, else semantic'),
    })
    .strict();
}

/** The query image by id: an indexed image, or one frame of an indexed video. */
const queryImageShape = {
  imageId: imageIdSchema.optional(),
  segment: z.coerce
    .number()
    .int()
    .min(0)
    .max(100_000)
    .optional()
    .describe("with imageId: one frame of a video, Live Photo or animation (a hit's segment.index); 0 by default"),
};

export function imageSearchSchema(limits: Limits) {
  return z
    .object({
      ...queryImageShape,
      ...pagingShape(limits),
      caption: z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean()).default(false),
    })
    .strict();
}

export function retrieveTextSchema(limits: Limits) {
  return z
    .object({
      ...queryImageShape,
      limit: z.coerce.number().int().min(1).max(limits.searchMaxLimit).default(5),
      owner: ownerName.optional(),
    })
    .strict();
}

const urlString = z.string().min(1).max(2048);

export const ingestRequestSchema = z
  .object({
    /** Required for operator keys; tenant keys ingest into their own library. */
    owner: ownerName.optional(),
    albums: listField(nameSet(albumName, 32)).default([]),
    folder: z.string().min(1).max(4096).optional(),
    externalIdsFromPaths: jsonField(z.boolean()).optional().describe("folder ingest: each file's path inside the folder is its externalId"),
    urls: listField(
      z
        .array(z.union([urlString, z.object({ url: urlString, externalId: externalIdSchema.optional() }).strict()]))
        .min(1)
        .max(1000),
    ).optional(),
    externalIds: listField(z.array(externalIdSchema).max(1000)).optional().describe('uploads: one externalId per file, in the order of the "files" fields'),
  })
  .strict();

export const textIngestSchema = z.object({ texts: z.array(textInputSchema).min(1).max(5000) }).strict();

export function classifySchema(limits: Limits) {
  return z
    .object({
      ...queryImageShape,
      labels: listField(
        z
          .array(z.string().transform(normalizeQuery).pipe(z.string().min(1).max(limits.queryMaxChars)))
          .min(1)
          .max(200),
      ),
      template: z.string().max(100).optional(),
      limit: z.coerce.number().int().min(1).max(200).optional(),
      owner: ownerName.optional(),
    })
    .strict();
}

/** PATCH /v1/images/:id: what a photo product changes after ingest. Albums and tags are replaced as given. */
export const imagePatchSchema = z
  .object({
    albums: nameSet(albumName, 32).optional(),
    favorite: z.boolean().optional(),
    hidden: z.boolean().optional(),
    archived: z.boolean().optional(),
    tags: nameSet(tagName, 64).optional(),
    takenAt: isoDate.nullable().optional().describe('overrides the capture time read from EXIF; null clears it'),
  })
  .strict()
  .refine((p) => Object.values(p).some((v) => v !== undefined), 'nothing to change');

/** "a,b,c" in a query string, as the object schema with those keys. */
function numberList<T extends z.ZodType<unknown, Record<string, number | undefined>>>(keys: readonly string[], schema: T) {
  return z
    .string()
    .max(200)
    .transform((v, ctx) => {
      const parts = v.split(',').map((x) => Number(x.trim()));
      if (parts.length !== keys.length || parts.some((x) => !Number.isFinite(x))) {
        ctx.addIssue({ code: 'custom', message: `expected ${keys.length} comma-separated numbers: ${keys.join(',')}` });
        return z.NEVER;
      }
      return Object.fromEntries(keys.map((k, i) => [k, parts[i]]));
    })
    .pipe(schema);
}

const queryBoolean = z.enum(['true', 'false']).transform((v) => v === 'true');
const tagList = z
  .string()
  .max(1024)
  .transform((t) =>
    t
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  )
  .pipe(z.array(tagName).max(16));

/** GET /v1/images: one owner's library, page by page, with the search filters. */
export function listImagesQuerySchema(limits: Limits) {
  return z
    .object({
      owner: ownerName.optional(),
      album: albumName.optional(),
      takenFrom: takenBound('first').optional(),
      takenTo: takenBound('last').optional(),
      favorite: queryBoolean.optional(),
      tags: tagList.optional().describe('comma-separated; images carrying every one'),
      autoTags: tagList.optional().describe('comma-separated; images the image pack tagged with every one'),
      place: placeFilter.optional(),
      includeHidden: queryBoolean.optional(),
      includeArchived: queryBoolean.optional(),
      mediaType: mediaType.optional(),
      camera: cameraName.optional(),
      near: numberList(['lat', 'lon', 'radiusKm'], geoCircleSchema).optional().describe('lat,lon,radiusKm'),
      within: numberList(['south', 'west', 'north', 'east'], geoBoxSchema).optional().describe('south,west,north,east'),
      sort: librarySort.default('takenAt'),
      limit: z.coerce.number().int().min(1).max(limits.searchMaxLimit).default(50),
      cursor: libraryCursorSchema.optional().describe("the last page's nextCursor, with the same sort"),
    })
    .strict()
    .superRefine((q, ctx) => {
      if (q.cursor && q.cursor.sort !== q.sort) ctx.addIssue({ code: 'custom', path: ['cursor'], message: `the cursor is for sort=${q.cursor.sort}` });
    });
}

/** GET /v1/duplicates: one owner's near-duplicate groups, page by page. */
export function duplicatesQuerySchema(limits: Limits) {
  return z
    .object({
      owner: ownerName.optional(),
      includeDismissed: queryBoolean.optional(),
      limit: z.coerce.number().int().min(1).max(limits.searchMaxLimit).default(20),
      cursor: cursorSchema.optional(),
    })
    .strict();
}

/** POST /v1/images/delete: many images at once, by our ids and/or the product's. */
export const bulkDeleteSchema = z
  .object({
    owner: ownerName.optional(),
    ids: z.array(imageIdSchema).max(1000).optional(),
    externalIds: z.array(externalIdSchema).max(1000).optional(),
  })
  .strict()
  .refine((b) => (b.ids?.length ?? 0) + (b.externalIds?.length ?? 0) > 0, 'give ids or externalIds');

/** GET /v1/admin/jobs */
export function listJobsQuerySchema(limits: Limits) {
  return z
    .object({
      owner: ownerName.optional(),
      state: z.enum(['queued', 'running', 'completed', 'failed', 'cancelled']).optional(),
      limit: z.coerce.number().int().min(1).max(limits.searchMaxLimit).default(20),
      cursor: cursorSchema.optional(),
    })
    .strict();
}

/** POST /v1/webhooks */
export const webhookCreateSchema = z
  .object({
    url: z.string().min(1).max(2048).describe('http(s) endpoint that receives signed POSTs'),
    events: z.array(z.enum(SUBSCRIBABLE_EVENTS)).max(SUBSCRIBABLE_EVENTS.length).default([]).describe('event types to receive; empty: all'),
    owner: ownerName.optional().describe('operators: whose events; omitted: every owner (a global subscription)'),
  })
  .strict();

/** GET /v1/webhooks/:id/deliveries */
export function listDeliveriesQuerySchema(limits: Limits) {
  return z
    .object({
      limit: z.coerce.number().int().min(1).max(limits.searchMaxLimit).default(20),
      cursor: cursorSchema.optional(),
    })
    .strict();
}

/** POST /v1/admin/watches */
export const watchCreateSchema = z
  .object({
    owner: ownerName,
    folder: z.string().min(1).max(4096).describe('a folder under INGEST_ROOTS (relative paths start at the first root)'),
    albums: nameSet(albumName, 32).default([]),
    externalIdPrefix: z
      .string()
      .max(256)
      .optional()
      .describe('a file\'s externalId is this prefix plus its path in the folder; default "watch:<folder id>/"; "" makes paths the ids'),
  })
  .strict();

/** POST /v1/admin/ocr/backfill */
export const ocrBackfillSchema = z.object({ owner: ownerName.optional().describe("one owner's images; omitted: everyone's") }).strict();

/** POST /v1/admin/reconcile */
export const reconcileSchema = z.object({ fix: z.boolean().default(false) }).strict();

/** POST /v1/admin/keys: a tenant key (owner) holds search and ingest at most; admin and worker are operator powers. */
export const keyCreateSchema = z
  .object({
    name: z.string().trim().min(1).max(128),
    owner: ownerName.optional().describe('the owner the key acts for; omitted: an operator key'),
    scopes: z
      .array(z.enum(SCOPES))
      .min(1)
      .max(SCOPES.length)
      .transform((s) => [...new Set(s)]),
  })
  .strict()
  .superRefine((k, ctx) => {
    const operatorOnly = k.owner === undefined ? [] : k.scopes.filter((s) => OPERATOR_SCOPES.includes(s));
    if (operatorOnly.length)
      ctx.addIssue({
        code: 'custom',
        path: ['scopes'],
        message: `${operatorOnly.join(', ')} ${operatorOnly.length > 1 ? 'are' : 'is'} for operator keys only; a key of an owner holds ${TENANT_SCOPES.join(', ')}`,
      });
  });

/** Path parameters. */
export const idParams = z.object({ id: imageIdSchema });
export const uuidParams = (what: string) => z.object({ id: z.uuid({ message: `${what} id is a UUID` }) });
export const segmentParams = z.object({
  id: imageIdSchema,
  segment: z.coerce.number().int().min(0).max(100_000).describe('0 is the asset itself; 1..segmentCount the later frames'),
});
export const externalIdParams = z.object({ externalId: externalIdSchema });
export const ownerParams = z.object({ owner: ownerName });

/** An image file's query: the owner (operators), or a signed URL's expiry and signature (no key). */
export const imageFileQuerySchema = ownerQuerySchema.extend({
  exp: z.string().optional().describe('signed URLs: expiry, Unix seconds'),
  sig: z.string().optional().describe('signed URLs: signature'),
});

export { captionAnswerSchema, captionLeaseSchema, workerAnswerSchema, workerLeaseSchema } from '../../remoteEncoders/protocol';
export const imageIdParams = z.object({ imageId: imageIdSchema });
