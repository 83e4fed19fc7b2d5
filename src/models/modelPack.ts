import path from 'node:path';
import type { Config } from '../config/env';
import { EncoderGate } from './encoderGate';
import { OnnxImageEncoder, OnnxTextEncoder, type EncoderRun, type ImageEncoder, type TextEncoder } from './encoders';
import { loadManifest, packKey, verifyPackFiles, type ModelManifest } from './manifest';
import { SessionHost } from './sessionHost';
import { loadTokenizer } from './tokenizer';

/** A loaded dual encoder; `key` (name@version) is stored with every vector it produced. */
export interface ModelPack {
  readonly key: string;
  readonly manifest: ModelManifest;
  readonly image: ImageEncoder;
  readonly text: TextEncoder;
  /** Admits model runs queries first (ENCODER_MAX_CONCURRENCY); other models of the service (OCR) run through it too. */
  readonly gate: EncoderGate;
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
  /** onnxruntime execution providers in order of preference (e.g. cuda, cpu); default cpu. */
  executionProviders?: string[];
  /** Concurrent encoder runs allowed across both encoders. */
  maxConcurrentRuns: number;
  /** Ingest's encoder runs are split to last about this long (a query waits at most that for one); default 150. */
  backgroundRunMs?: number;
  /** 'fifo' turns queries-first off (benchmarks compare the two). */
  scheduling?: 'priority' | 'fifo';
  /**
   * Nice value of the image tower's threads (ingest encodes there): the text tower, which answers
   * searches, then gets the cores first. Unset: the same priority as the rest of the process.
   */
  imageNice?: number;
  verifyChecksums: boolean;
  onRun?: (run: EncoderRun) => void;
}

/** How the model pack is loaded, for the service and the encoder process alike. */
export function packOptionsFrom(config: Config): ModelPackOptions {
  return {
    batchSize: config.ENCODE_BATCH_SIZE,
    intraOpThreads: config.ORT_INTRA_OP_THREADS,
    interOpThreads: config.ORT_INTER_OP_THREADS,
    executionProviders: config.ORT_EXECUTION_PROVIDERS,
    maxConcurrentRuns: config.ENCODER_MAX_CONCURRENCY,
    backgroundRunMs: config.INGEST_ENCODE_RUN_MS,
    scheduling: config.ENCODER_SCHEDULING,
    imageNice: config.BACKGROUND_NICE,
    verifyChecksums: config.MODEL_VERIFY_CHECKSUMS,
  };
}

/** One text and one (blank) image through the towers: a smoke test at install, a warm-up at start. */
export async function encodeOnce(pack: Pick<ModelPack, 'text' | 'image'>): Promise<void> {
  const size = pack.image.preprocessing.size;
  await pack.text.encode(['海边的日落']);
  await pack.image.encode([{ data: new Float32Array(3 * size * size), size }]);
}

export async function loadModelPack(dir: string, opts: ModelPackOptions): Promise<ModelPack> {
  const manifest = await loadManifest(dir);
  if (opts.verifyChecksums) await verifyPackFiles(dir, manifest);
  const sessionOpts = { intraOpThreads: opts.intraOpThreads, interOpThreads: opts.interOpThreads, executionProviders: opts.executionProviders };
  // Each tower on a thread of its own: a search's text encode never waits behind an ingest batch.
  const hosts: SessionHost[] = [];
  try {
    hosts.push(await SessionHost.open([path.join(dir, manifest.image.file)], { ...sessionOpts, nice: opts.imageNice }));
    hosts.push(await SessionHost.open([path.join(dir, manifest.text.file)], sessionOpts));
    const [imageHost, textHost] = hosts as [SessionHost, SessionHost];
    const tokenizer = await loadTokenizer(dir, { ...manifest.text.tokenizer, maxLength: manifest.text.maxLength });
    const gate = new EncoderGate(opts.maxConcurrentRuns);
    const encoderOpts = {
      batchSize: opts.batchSize,
      gate,
      backgroundRunMs: opts.backgroundRunMs ?? 150,
      scheduling: opts.scheduling ?? 'priority',
      onRun: opts.onRun,
    };
    return {
      key: packKey(manifest),
      manifest,
      image: new OnnxImageEncoder(imageHost.sessions[0]!, manifest, encoderOpts),
      text: new OnnxTextEncoder(textHost.sessions[0]!, tokenizer, manifest, encoderOpts),
      gate,
      close: async () => {
        await Promise.all(hosts.map((h) => h.close()));
      },
    };
  } catch (e) {
    await Promise.all(hosts.map((h) => h.close()));
    throw e;
  }
}
