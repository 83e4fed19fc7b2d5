/**
 * The remote encoder protocol (`npm run encoder`): batched image and text encoding of one model pack
 * over HTTP. Every answer names the pack and its embedding size, so a service refuses an encoder that
 * serves another model instead of mixing its vectors into an index.
 */
import { z } from 'zod';
import type { PixelTensor } from '../models/preprocess';

export const HEADERS = {
  pack: 'x-model-pack',
  dim: 'x-embedding-dim',
  imageSize: 'x-image-size',
  priority: 'x-priority',
} as const;

export const PATHS = { health: '/healthz', text: '/v1/encode/text', image: '/v1/encode/image' } as const;

/**
 * Pull workers (`npm run encoder` with SERVICE_URL): the service's routes they lease ingest batches from
 * and answer them on, with an operator key holding the worker scope. The API declares them from these.
 */
export const WORKER_ROUTES = {
  lease: '/v1/workers/lease',
  answer: '/v1/workers/leases/{id}',
  captionLease: '/v1/workers/captions/lease',
  captionAnswer: '/v1/workers/captions/{imageId}',
} as const;

/** POST /v1/workers/lease: a pull worker asks for the next ingest batch. */
export const workerLeaseSchema = z
  .object({ pack: z.string().min(1).max(200).describe("name@version of the worker's model pack; a batch of another pack is never handed out") })
  .strict();

/** POST /v1/workers/leases/:id: a pull worker's embeddings for a batch it leased. */
export const workerAnswerSchema = z
  .object({
    pack: z.string().min(1).max(200),
    embeddings: z
      .base64()
      .max(64 * 4096 * 4 * 2)
      .describe('float32 little-endian rows, one per image of the batch, base64'),
  })
  .strict();

/** POST /v1/workers/lease */
export const workerLeaseResultSchema = z.object({
  lease: z
    .object({
      id: z.uuid(),
      pack: z.string(),
      count: z.number().int().describe('images in the batch'),
      size: z.number().int().describe('tensor side: each image is 3×size×size float32, CHW, normalised'),
      expiresInSeconds: z.number().int().describe('answer before this, or the batch goes back to the queue'),
      tensors: z.string().describe('the tensors back to back, float32 little-endian, base64'),
    })
    .nullable()
    .describe('null: nothing is waiting; ask again later'),
});

/** POST /v1/workers/leases/:id */
export const workerAnswerResultSchema = z.object({ id: z.uuid(), accepted: z.literal(true) });

const captionerName = z.string().min(1).max(200).describe("the captioner pack's model name (captioner:name@version); an image is never captioned by another");

/** POST /v1/workers/captions/lease: a pull worker with a captioner pack asks for an image to caption. */
export const captionLeaseSchema = z.object({ captioner: captionerName }).strict();

/** POST /v1/workers/captions/lease */
export const captionLeaseResultSchema = z.object({
  task: z
    .object({
      imageId: z.uuid(),
      captioner: z.string(),
      expiresInSeconds: z.number().int().describe('answer before this, or the image goes back to the queue'),
      preview: z.string().describe("the image's 512 px JPEG preview, base64"),
    })
    .nullable()
    .describe('null: no image waits for a caption; ask again later'),
});

/** POST /v1/workers/captions/:imageId: the caption (or why none could be made) of an image the worker leased. */
export const captionAnswerSchema = z
  .object({
    captioner: captionerName,
    text: z.string().trim().min(1).max(1000).optional().describe('the caption'),
    original: z.string().max(1000).nullable().optional().describe('the untranslated caption, when the pack translated it'),
    error: z.string().min(1).max(500).optional().describe('why no caption could be made; the image is tried again later'),
  })
  .strict()
  .refine((a) => (a.text === undefined) !== (a.error === undefined), { message: 'send either text or error' });

/** POST /v1/workers/captions/:imageId */
export const captionAnswerResultSchema = z.object({ imageId: z.uuid(), accepted: z.literal(true) });

/** Items one request may carry; the encoder splits them into its own batches. */
export const MAX_ITEMS = 64;

export const prioritySchema = z.enum(['interactive', 'background']).default('interactive');

export const textRequestSchema = z.object({ texts: z.array(z.string().min(1).max(10_000)).min(1).max(MAX_ITEMS), priority: prioritySchema }).strict();
export type TextRequest = z.input<typeof textRequestSchema>;

export const textResponseSchema = z.object({ pack: z.string(), dim: z.number().int(), embeddings: z.array(z.array(z.number())) });

export const healthSchema = z.object({
  status: z.literal('ok'),
  pack: z.string(),
  dim: z.number().int(),
  imageSize: z.number().int(),
  /** Encoder runs waiting for a slot: the service sends work where this is lowest. */
  queued: z.number().int(),
  encoded: z.object({ images: z.number().int(), texts: z.number().int() }),
});
export type EncoderHealth = z.infer<typeof healthSchema>;

/** Image batches travel as little-endian float32 CHW tensors back to back (what the towers take), embeddings likewise. */
export function floatsToBuffer(arrays: readonly Float32Array[]): Buffer {
  const out = Buffer.allocUnsafe(arrays.reduce((n, a) => n + a.byteLength, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
    at += a.byteLength;
  }
  return out;
}

/** A batch of image tensors as it travels (`count` of them, `size` px square) back into the encoder's input. */
export function tensorsFromBuffer(buf: Buffer, count: number, size: number): PixelTensor[] {
  return bufferToFloats(buf, count).map((data) => ({ data, size }));
}

/** Splits a buffer into `count` float32 arrays (copied: a Buffer's offset need not be 4-aligned). */
export function bufferToFloats(buf: Buffer, count: number): Float32Array[] {
  const all = new Float32Array(buf.byteLength / 4);
  new Uint8Array(all.buffer).set(buf);
  const per = all.length / count;
  return Array.from({ length: count }, (_, i) => all.subarray(i * per, (i + 1) * per));
}
