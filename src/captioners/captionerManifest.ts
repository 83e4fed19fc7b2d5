import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { CAPTIONER_DTYPES } from './captionerLayouts';

export const CAPTIONER_MANIFEST = 'captioner.json';

const modelSchema = z.object({
  role: z.enum(['caption', 'translate']),
  /** Folder of the model inside the pack. */
  dir: z.string(),
  repo: z.string(),
  revision: z.string(),
  modelType: z.string(),
  dtype: z.enum(CAPTIONER_DTYPES),
});

/** A captioner pack: one captioning model, or one that writes English and a translator to Chinese. */
export const captionerManifestSchema = z.object({
  name: z.string().min(1),
  /** Content-addressed: new files, a new version, and every image is captioned again. */
  version: z.string().min(1),
  models: z.array(modelSchema).min(1),
  /** Language of the captions the pack writes. */
  language: z.enum(['zh', 'en']),
  maxNewTokens: z.number().int().positive(),
  /** Every file with the sha256 the source published (or its git blob id), as fetched. */
  files: z.array(z.object({ path: z.string(), size: z.number().int(), sha256: z.string().optional(), gitOid: z.string().optional() })),
});

export type CaptionerManifest = z.infer<typeof captionerManifestSchema>;
export type CaptionerModel = z.infer<typeof modelSchema>;

export async function readCaptionerManifest(dir: string): Promise<CaptionerManifest> {
  return captionerManifestSchema.parse(JSON.parse(await readFile(path.join(dir, CAPTIONER_MANIFEST), 'utf8')));
}

export async function writeCaptionerManifest(dir: string, manifest: CaptionerManifest): Promise<void> {
  await writeFile(path.join(dir, CAPTIONER_MANIFEST), `${JSON.stringify(captionerManifestSchema.parse(manifest), null, 2)}\n`);
}

/** At start, before anything asynchronous runs: the wiring reads the active pack's manifest once. */
export function readCaptionerManifestSync(dir: string): CaptionerManifest {
  return captionerManifestSchema.parse(JSON.parse(readFileSync(path.join(dir, CAPTIONER_MANIFEST), 'utf8')));
}
