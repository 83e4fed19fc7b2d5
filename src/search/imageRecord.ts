import { z } from 'zod';

const placeName = z.object({ zh: z.string().nullable().describe('null where the data has no Chinese name'), en: z.string() });

export const placeSchema = z.object({
  country: placeName.extend({ code: z.string().describe('ISO 3166-1 alpha-2') }),
  province: placeName.nullable().describe('China only'),
  city: placeName.nullable(),
});

/** The image record the API returns; its TypeScript type is derived here, and the web page imports the type. */
export const imageRecordSchema = z.object({
  id: z.uuid(),
  owner: z.string(),
  externalId: z.string().nullable().describe("the photo product's own id, when it gave one"),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  source: z.string(),
  sourceKind: z.enum(['folder', 'upload', 'url']),
  mime: z.string(),
  width: z.number().int(),
  height: z.number().int(),
  bytes: z.number().int(),
  albums: z.array(z.string()),
  favorite: z.boolean(),
  hidden: z.boolean(),
  archived: z.boolean(),
  tags: z.array(z.string()),
  autoTags: z
    .array(z.object({ label: z.string(), score: z.number().describe('cosine similarity of the image and the prompt') }))
    .describe('concepts of the built-in vocabulary the image pack sees in the photo, best first; made after ingest, [] until then'),
  takenAt: z.iso.datetime().nullable(),
  mediaType: z.enum(['image', 'video']),
  durationMs: z.number().int().nullable().describe("a video's length, or a Live Photo's or animated image's motion"),
  videoCodec: z.string().nullable().describe('codec of a video or Live Photo movie, e.g. h264, hevc'),
  segmentCount: z.number().int().describe('sampled frames beyond the first that the asset is searched by (segments 1..segmentCount)'),
  camera: z.string().nullable().describe('EXIF make and model'),
  location: z.object({ lat: z.number(), lon: z.number() }).nullable().describe('EXIF GPS position, degrees'),
  place: placeSchema.nullable().describe('where it was taken, from its GPS position (offline reverse geocoding); null without GPS or until placed'),
  ingestedAt: z.iso.datetime(),
  modelPack: z.string().nullable(),
  state: z.enum(['pending', 'indexed', 'failed']),
});

export type ImageRecord = z.infer<typeof imageRecordSchema>;

export const matchSchema = z
  .object({
    semanticScore: z.number().nullable().describe('cosine similarity of the image to the query; null when only its text matched'),
    textScore: z.number().nullable().describe('rank score of the words printed in or written about the image; null when they did not match'),
    matchedField: z
      .enum(['ocr', 'caption', 'tags'])
      .nullable()
      .describe('where the words matched: printed in the photo (ocr), its caption, or its auto tags; null when they did not'),
    matchedText: z.string().nullable().describe('the OCR line, the caption or the auto tags that matched'),
    highlights: z.array(z.tuple([z.number().int(), z.number().int()])).describe('[start, end) offsets of the matched words in matchedText'),
  })
  .describe('why the image matched a text query');

export const segmentSchema = z
  .object({
    index: z.number().int().describe('the frame: 0 is the asset itself, later frames follow'),
    startMs: z.number().int(),
    endMs: z.number().int(),
    score: z.number().describe('cosine similarity of this frame to the query'),
  })
  .describe('a stretch of a video (or of a Live Photo movie or an animation) stood for by one sampled frame');

export const imageHitSchema = imageRecordSchema.extend({
  relevance: z
    .number()
    .min(0)
    .max(1)
    .describe(
      'how good a match this is, 0..1, comparable across queries of one pack: 0.5 and above is a good match (the cosine three standard deviations above what unrelated pairs score, or the query printed in the photo)',
    ),
  score: z.number().describe('cosine similarity (image search, semantic mode), text score (ocr mode) or fused reciprocal-rank score (hybrid)'),
  match: matchSchema.optional(),
  segment: segmentSchema.optional().describe('where in a video the query matched best; each asset is returned once, at its best frame'),
  otherSegments: z.array(segmentSchema).optional().describe('further matching stretches of the same video, best first'),
});

export type Segment = z.infer<typeof segmentSchema>;

export type ImageHit = z.infer<typeof imageHitSchema>;
