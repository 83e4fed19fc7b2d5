import path from 'node:path';
import type * as ort from 'onnxruntime-node';
import { Semaphore } from '../util/semaphore';
import { OnnxImageEncoder, OnnxTextEncoder, type EncoderRun, type ImageEncoder, type TextEncoder } from './encoders';
import { loadManifest, packKey, verifyPackFiles, type ModelManifest } from './manifest';
import { createSession } from './onnxSession';
import { loadTokenizer } from './tokenizer';

/** A loaded dual encoder; `key` (name@version) is stored with every vector it produced. */
export interface ModelPack {
  readonly key: string;
  readonly manifest: ModelManifest;
  readonly image: ImageEncoder;
  readonly text: TextEncoder;
  /** Encoder runs waiting for a slot (ENCODER_MAX_CONCURRENCY). */
  readonly queued: () => number;
  close(): Promise<void>;
}

/** The one command that installs the real model, quoted wherever the test pack is in use. */
export const INSTALL_REAL_MODEL = 'npm run models:fetch';

/** Set for generated packs (tests, benchmarks): their results mean nothing for real photos. */
export function notMeaningfulWarning(manifest: ModelManifest): string | undefined {
  return manifest.testOnly
    ? `model pack ${packKey(manifest)} is a generated test pack: search results are not meaningful for real photos. Install the real Chinese-CLIP model with: ${INSTALL_REAL_MODEL}`
    : undefined;
}

export interface ModelPackOptions {
  batchSize: number;
  intraOpThreads: number;
  interOpThreads: number;
  /** Concurrent encoder runs allowed across both encoders. */
  maxConcurrentRuns: number;
  verifyChecksums: boolean;
  onRun?: (run: EncoderRun) => void;
}

export async function loadModelPack(dir: string, opts: ModelPackOptions): Promise<ModelPack> {
  const manifest = await loadManifest(dir);
  if (opts.verifyChecksums) await verifyPackFiles(dir, manifest);
  const sessionOpts = { intraOpThreads: opts.intraOpThreads, interOpThreads: opts.interOpThreads };
  const sessions: ort.InferenceSession[] = [];
  try {
    const imageSession = await createSession(path.join(dir, manifest.image.file), sessionOpts);
    sessions.push(imageSession);
    const textSession = await createSession(path.join(dir, manifest.text.file), sessionOpts);
    sessions.push(textSession);
    const tokenizer = await loadTokenizer(dir, { ...manifest.text.tokenizer, maxLength: manifest.text.maxLength });
    const gate = new Semaphore(opts.maxConcurrentRuns);
    const encoderOpts = { batchSize: opts.batchSize, gate, onRun: opts.onRun };
    return {
      key: packKey(manifest),
      manifest,
      image: new OnnxImageEncoder(imageSession, manifest, encoderOpts),
      text: new OnnxTextEncoder(textSession, tokenizer, manifest, encoderOpts),
      queued: () => gate.pending,
      close: async () => {
        await Promise.all(sessions.map((s) => s.release()));
      },
    };
  } catch (e) {
    await Promise.all(sessions.map((s) => s.release()));
    throw e;
  }
}
