import { AppError } from '../errors/appError';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { CHINESE_SCRIPTS } from '../util/chineseScript';

const rgb = z.tuple([z.number(), z.number(), z.number()]);
const fileName = z
  .string()
  .min(1)
  .refine((f) => !path.isAbsolute(f) && !f.split(/[\\/]/).includes('..'), 'must be a path inside the pack');

export const manifestSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i),
  version: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i),
  description: z.string().optional(),
  /** A generated pack (tests, benchmarks): its results mean nothing for real photos. */
  testOnly: z.boolean().default(false),
  /** Where an installed pack came from (models:fetch). */
  source: z.object({ repo: z.string(), revision: z.string(), layout: z.string(), variant: z.string() }).optional(),
  embeddingDim: z.number().int().positive(),
  image: z.object({
    file: fileName,
    input: z.string().default('pixel_values'),
    inputType: z.enum(['float32', 'float16']).default('float32'),
    output: z.string().default('image_embeds'),
    size: z.number().int().positive(),
    /** squash: stretch to size×size (Chinese-CLIP); cover: shortest edge then centre crop (OpenAI CLIP). */
    resize: z.enum(['squash', 'cover']).default('squash'),
    /** Pillow's resampling filter of the reference transform. */
    interpolation: z.enum(['bicubic', 'bilinear']).default('bicubic'),
    mean: rgb,
    std: rgb,
    /** The graph's fixed batch dimension (cn_clip's and Immich's exports often fix it at 1); unset: any. */
    maxBatch: z.number().int().positive().optional(),
  }),
  text: z.object({
    file: fileName,
    inputs: z.object({
      ids: z.string().default('input_ids'),
      mask: z.string().optional(),
      tokenTypes: z.string().optional(),
    }),
    idsType: z.enum(['int64', 'int32']).default('int64'),
    /** Prepended to every text (NLLB-based encoders read the language code first, e.g. zho_Hans). */
    prefix: z.string().default(''),
    /**
     * The Chinese script the text tower was trained on: text in the other script is converted first
     * (Chinese-CLIP learned from simplified Chinese, so a query typed 貓 is read as 猫). Unset: as typed.
     */
    script: z.enum(CHINESE_SCRIPTS).optional(),
    output: z.string().default('text_embeds'),
    maxLength: z.number().int().min(2).max(512),
    /** As image.maxBatch, for the text tower. */
    maxBatch: z.number().int().positive().optional(),
    tokenizer: z.object({
      file: fileName,
      config: fileName.optional(),
      lowercase: z.boolean().default(true),
    }),
  }),
  /** sha256 of every file the pack needs, checked before a pack is used. */
  files: z.record(fileName, z.string().regex(/^[0-9a-f]{64}$/)),
});

export type ModelManifest = z.infer<typeof manifestSchema>;

export function packKey(m: Pick<ModelManifest, 'name' | 'version'>): string {
  return `${m.name}@${m.version}`;
}

/** Hex digest of a file, streamed; `prefix` is hashed first (git's blob ids hash "blob <size>\0" before the bytes). */
export async function fileDigest(file: string, algorithm: 'sha256' | 'sha1', prefix?: Buffer): Promise<string> {
  const hash = createHash(algorithm);
  if (prefix) hash.update(prefix);
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function sha256File(file: string): Promise<string> {
  return fileDigest(file, 'sha256');
}

/** The model pack cannot be used: the service cannot answer until it is fixed. */
export class ModelPackError extends AppError {
  constructor(message: string) {
    super('model_unavailable', message);
  }
}

/** The files a manifest names: each needs a sha256 in `files`. */
function namedFiles(m: Omit<ModelManifest, 'files'>): string[] {
  return [m.image.file, m.text.file, m.text.tokenizer.file, ...(m.text.tokenizer.config ? [m.text.tokenizer.config] : [])];
}

export type ManifestDraft = Omit<z.input<typeof manifestSchema>, 'files'>;

/**
 * Writes `dir/manifest.json` with the sha256 of every file it names plus `extraFiles` (external weight
 * data beside a graph); the files must be in `dir` already.
 */
export async function writeManifest(dir: string, draft: ManifestDraft, extraFiles: readonly string[] = []): Promise<ModelManifest> {
  const m = manifestSchema.omit({ files: true }).parse(draft);
  const files: Record<string, string> = {};
  for (const f of [...namedFiles(m), ...extraFiles]) files[f] = await sha256File(path.join(dir, f));
  const manifest = { ...m, files };
  await writeFile(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

export async function loadManifest(dir: string): Promise<ModelManifest> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8'));
  } catch (e) {
    throw new ModelPackError(`cannot read ${path.join(dir, 'manifest.json')}: ${(e as Error).message}`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) throw new ModelPackError(`invalid manifest in ${dir}: ${z.prettifyError(parsed.error)}`);
  const m = parsed.data;
  for (const f of namedFiles(m)) {
    if (!(f in m.files)) throw new ModelPackError(`manifest.files has no sha256 for ${f}`);
  }
  return m;
}

/** Rejects a pack whose files were changed or truncated since the manifest was written. */
export async function verifyPackFiles(dir: string, m: ModelManifest): Promise<void> {
  for (const [file, expected] of Object.entries(m.files)) {
    const actual = await sha256File(path.join(dir, file)).catch((e: Error) => {
      throw new ModelPackError(`model pack file ${file} unreadable: ${e.message}`);
    });
    if (actual !== expected) throw new ModelPackError(`sha256 mismatch for ${file}: expected ${expected}, got ${actual}`);
  }
}
