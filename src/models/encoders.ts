import * as ort from 'onnxruntime-node';
import { type Semaphore } from '../util/semaphore';
import type { ModelManifest } from './manifest';
import { toFloat16Bits } from './float16';
import { readEmbeddings, requireInput } from './onnxSession';
import type { ImagePreprocessing, PixelTensor } from './preprocess';
import type { TextTokenizer } from './tokenizer';
import { l2NormalizeRows } from './vectorMath';

export interface EncoderRun {
  kind: 'image' | 'text';
  items: number;
  ms: number;
}

export interface EncoderOptions {
  batchSize: number;
  /** Shared across encoders: bounds how many ONNX runs (and their buffers) exist at once. */
  gate: Semaphore;
  onRun?: (run: EncoderRun) => void;
}

export interface ImageEncoder {
  readonly dim: number;
  readonly preprocessing: ImagePreprocessing;
  /** L2-normalised embeddings, one per input, in order. */
  encode(images: readonly PixelTensor[]): Promise<Float32Array[]>;
}

export interface TextEncoder {
  readonly dim: number;
  readonly maxLength: number;
  encode(texts: readonly string[]): Promise<Float32Array[]>;
}

async function inBatches<T>(
  items: readonly T[],
  size: number,
  run: (batch: readonly T[]) => Promise<Float32Array[]>,
): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await run(items.slice(i, i + size))));
  return out;
}

async function timed(opts: EncoderOptions, kind: EncoderRun['kind'], items: number, run: () => Promise<ort.InferenceSession.ReturnType>) {
  return opts.gate.run(async () => {
    const start = performance.now();
    const result = await run();
    opts.onRun?.({ kind, items, ms: performance.now() - start });
    return result;
  });
}

export class OnnxImageEncoder implements ImageEncoder {
  readonly dim: number;
  readonly preprocessing: ModelManifest['image'];

  constructor(
    private readonly session: ort.InferenceSession,
    manifest: ModelManifest,
    private readonly opts: EncoderOptions,
  ) {
    this.dim = manifest.embeddingDim;
    this.preprocessing = manifest.image;
    requireInput(session, manifest.image.input);
  }

  encode(images: readonly PixelTensor[]): Promise<Float32Array[]> {
    return inBatches(images, this.opts.batchSize, (batch) => this.encodeBatch(batch));
  }

  private async encodeBatch(batch: readonly PixelTensor[]): Promise<Float32Array[]> {
    const size = this.preprocessing.size;
    const plane = 3 * size * size;
    const data = new Float32Array(batch.length * plane);
    batch.forEach((img, i) => {
      if (img.size !== size) throw new Error(`image tensor is ${img.size}px, encoder expects ${size}px`);
      data.set(img.data, i * plane);
    });
    const dims = [batch.length, 3, size, size];
    const pixels = this.preprocessing.inputType === 'float16' ? new ort.Tensor('float16', toFloat16Bits(data), dims) : new ort.Tensor('float32', data, dims);
    const feeds = { [this.preprocessing.input]: pixels };
    const out = await timed(this.opts, 'image', batch.length, () => this.session.run(feeds));
    const name = this.preprocessing.output;
    return l2NormalizeRows(readEmbeddings(out[name], name, batch.length, this.dim), batch.length, this.dim);
  }
}

export class OnnxTextEncoder implements TextEncoder {
  readonly dim: number;
  readonly maxLength: number;
  private readonly text: ModelManifest['text'];

  constructor(
    private readonly session: ort.InferenceSession,
    private readonly tokenizer: TextTokenizer,
    manifest: ModelManifest,
    private readonly opts: EncoderOptions,
  ) {
    this.dim = manifest.embeddingDim;
    this.text = manifest.text;
    this.maxLength = manifest.text.maxLength;
    for (const name of [this.text.inputs.ids, this.text.inputs.mask, this.text.inputs.tokenTypes]) {
      if (name) requireInput(session, name);
    }
  }

  encode(texts: readonly string[]): Promise<Float32Array[]> {
    return inBatches(texts, this.opts.batchSize, (batch) => this.encodeBatch(batch));
  }

  private async encodeBatch(batch: readonly string[]): Promise<Float32Array[]> {
    const enc = this.tokenizer.encode(this.text.prefix ? batch.map((t) => this.text.prefix + t) : batch);
    const dims = [enc.batch, enc.maxLength];
    const { ids, mask, tokenTypes } = this.text.inputs;
    // Immich's open_clip exports take int32 ids; Hugging Face and cn_clip exports take int64.
    const tensor = (v: BigInt64Array) => (this.text.idsType === 'int32' ? new ort.Tensor('int32', Int32Array.from(v, Number), dims) : new ort.Tensor('int64', v, dims));
    const feeds: Record<string, ort.Tensor> = { [ids]: tensor(enc.inputIds) };
    if (mask) feeds[mask] = tensor(enc.attentionMask);
    if (tokenTypes) feeds[tokenTypes] = tensor(enc.tokenTypeIds);
    const out = await timed(this.opts, 'text', batch.length, () => this.session.run(feeds));
    const name = this.text.output;
    return l2NormalizeRows(readEmbeddings(out[name], name, batch.length, this.dim), batch.length, this.dim);
  }
}
