import * as ort from 'onnxruntime-node';
import { BackgroundChunker, type EncoderGate, type Priority } from './encoderGate';
import type { ModelManifest } from './manifest';
import { toFloat16Bits } from './float16';
import { readEmbeddings, requireInput } from './onnxSession';
import type { InferenceRunner } from './sessionHost';
import type { ImagePreprocessing, PixelTensor } from './preprocess';
import type { TextTokenizer } from './tokenizer';
import { l2NormalizeRows } from './vectorMath';
import { toScript } from '../util/chineseScript';

export interface EncoderRun {
  kind: 'image' | 'text';
  items: number;
  ms: number;
}

type Outputs = Record<string, ort.Tensor>;

/** The named [rows, dim] output, L2-normalised per row. */
function unitRows(out: Outputs, name: string, rows: number, dim: number): Float32Array[] {
  return l2NormalizeRows(readEmbeddings(out[name], name, rows, dim), rows, dim);
}

export interface EncoderOptions {
  batchSize: number;
  /** Shared across encoders: bounds how many ONNX runs (and their buffers) exist at once, queries first. */
  gate: EncoderGate;
  /** Background runs are split to last about this long, so a query waits at most that for one. */
  backgroundRunMs: number;
  /** 'fifo': every run in arrival order, whole batches (the behaviour before queries went first; for comparison). */
  scheduling: 'priority' | 'fifo';
  onRun?: (run: EncoderRun) => void;
}

export interface ImageEncoder {
  readonly dim: number;
  readonly preprocessing: ImagePreprocessing;
  /** L2-normalised embeddings, one per input, in order; ingest asks at background priority. */
  encode(images: readonly PixelTensor[], priority?: Priority): Promise<Float32Array[]>;
}

export interface TextEncoder {
  readonly dim: number;
  readonly maxLength: number;
  encode(texts: readonly string[], priority?: Priority): Promise<Float32Array[]>;
}

/**
 * Runs items through the encoder in batches: whole batches for queries, short chunks (sized to the
 * measured time per item) for background work.
 */
class Batcher<T> {
  private readonly chunker: BackgroundChunker;
  private readonly batchSize: number;

  /** `maxBatch`: the graph's fixed batch dimension, which no run may exceed (ENCODE_BATCH_SIZE or not). */
  constructor(
    private readonly opts: EncoderOptions,
    private readonly kind: EncoderRun['kind'],
    private readonly run: (batch: readonly T[]) => Promise<Outputs>,
    private readonly read: (out: Outputs, rows: number) => Float32Array[],
    maxBatch: number | undefined,
  ) {
    this.batchSize = Math.min(opts.batchSize, maxBatch ?? Infinity);
    this.chunker = new BackgroundChunker(this.batchSize, opts.backgroundRunMs);
  }

  async encode(items: readonly T[], asked: Priority): Promise<Float32Array[]> {
    const priority = this.opts.scheduling === 'fifo' ? 'interactive' : asked;
    const out: Float32Array[] = [];
    for (let i = 0; i < items.length; ) {
      const size = priority === 'background' ? this.chunker.size : this.batchSize;
      const batch = items.slice(i, i + size);
      const result = await this.opts.gate.run(priority, async () => {
        const start = performance.now();
        const value = await this.run(batch);
        const ms = performance.now() - start;
        this.chunker.observe(batch.length, ms);
        this.opts.onRun?.({ kind: this.kind, items: batch.length, ms });
        return value;
      });
      out.push(...this.read(result, batch.length));
      i += batch.length;
    }
    return out;
  }
}

export class OnnxImageEncoder implements ImageEncoder {
  readonly dim: number;
  readonly preprocessing: ModelManifest['image'];
  private readonly batcher: Batcher<PixelTensor>;

  constructor(
    private readonly session: InferenceRunner,
    manifest: ModelManifest,
    opts: EncoderOptions,
  ) {
    this.dim = manifest.embeddingDim;
    this.preprocessing = manifest.image;
    requireInput(session, manifest.image.input);
    this.batcher = new Batcher(opts, 'image', (batch) => this.runBatch(batch), (out, rows) => unitRows(out, manifest.image.output, rows, this.dim), manifest.image.maxBatch);
  }

  encode(images: readonly PixelTensor[], priority: Priority = 'interactive'): Promise<Float32Array[]> {
    return this.batcher.encode(images, priority);
  }

  private runBatch(batch: readonly PixelTensor[]): Promise<Outputs> {
    const size = this.preprocessing.size;
    const plane = 3 * size * size;
    const data = new Float32Array(batch.length * plane);
    batch.forEach((img, i) => {
      if (img.size !== size) throw new Error(`image tensor is ${img.size}px, encoder expects ${size}px`);
      data.set(img.data, i * plane);
    });
    const dims = [batch.length, 3, size, size];
    const pixels = this.preprocessing.inputType === 'float16' ? new ort.Tensor('float16', toFloat16Bits(data), dims) : new ort.Tensor('float32', data, dims);
    return this.session.run({ [this.preprocessing.input]: pixels });
  }
}

export class OnnxTextEncoder implements TextEncoder {
  readonly dim: number;
  readonly maxLength: number;
  private readonly text: ModelManifest['text'];
  private readonly batcher: Batcher<string>;

  constructor(
    private readonly session: InferenceRunner,
    private readonly tokenizer: TextTokenizer,
    manifest: ModelManifest,
    opts: EncoderOptions,
  ) {
    this.dim = manifest.embeddingDim;
    this.text = manifest.text;
    this.maxLength = manifest.text.maxLength;
    for (const name of [this.text.inputs.ids, this.text.inputs.mask, this.text.inputs.tokenTypes]) {
      if (name) requireInput(session, name);
    }
    this.batcher = new Batcher(opts, 'text', (batch) => this.runBatch(batch), (out, rows) => unitRows(out, manifest.text.output, rows, this.dim), manifest.text.maxBatch);
  }

  encode(texts: readonly string[], priority: Priority = 'interactive'): Promise<Float32Array[]> {
    return this.batcher.encode(texts, priority);
  }

  private runBatch(batch: readonly string[]): Promise<Outputs> {
    const { script, prefix } = this.text;
    const enc = this.tokenizer.encode(batch.map((t) => prefix + (script ? toScript(script, t) : t)));
    const dims = [enc.batch, enc.maxLength];
    const { ids, mask, tokenTypes } = this.text.inputs;
    // Immich's open_clip exports take int32 ids; Hugging Face and cn_clip exports take int64.
    const tensor = (v: BigInt64Array) => (this.text.idsType === 'int32' ? new ort.Tensor('int32', Int32Array.from(v, Number), dims) : new ort.Tensor('int64', v, dims));
    const feeds: Record<string, ort.Tensor> = { [ids]: tensor(enc.inputIds) };
    if (mask) feeds[mask] = tensor(enc.attentionMask);
    if (tokenTypes) feeds[tokenTypes] = tensor(enc.tokenTypeIds);
    return this.session.run(feeds);
  }
}
