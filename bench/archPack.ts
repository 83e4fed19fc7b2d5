/**
 * Benchmark packs with Chinese-CLIP ViT-B/16's real architecture and shapes, random weights:
 * - image tower: 16×16 patch conv, class token, position embeddings, pre-LayerNorm, 12 pre-norm
 *   transformer blocks (12-head self-attention, quick-GELU MLP 768→3072→768), post-LayerNorm on the
 *   class token, projection to 512 (HF ChineseCLIPVisionModel + visual_projection);
 * - text tower: RoBERTa-wwm-ext-base at 52 tokens: word, position and type embeddings, 12 post-norm
 *   BERT blocks (GELU), the [CLS] state, projection to 512 (ChineseCLIPTextModel + text_projection).
 * Ops are written the way PyTorch's ONNX export writes them (LayerNorm as ReduceMean/Sub/Pow/Sqrt/Div,
 * GELU through Erf, attention as MatMul/Softmax with the mask added to the scores), so onnxruntime's
 * fusions apply as they would to the real files. The layers share one set of weights (small files),
 * never the compute. An int8 variant quantises every MatMul weight dynamically, as the hub's
 * `_quantized` files are (DynamicQuantizeLinear + MatMulInteger).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { onnx } from 'onnx-proto';
import { GraphBuilder, intAttr, intsAttr } from '../scripts/lib/onnxGraph';
import { gaussian, mulberry32 } from '../scripts/lib/random';
import { buildVocab } from '../scripts/test-pack/make';
import { writeManifest } from '../src/models/manifest';

const F = onnx.TensorProto.DataType.FLOAT;
const I64 = onnx.TensorProto.DataType.INT64;
export const ARCH = {
  hidden: 768,
  heads: 12,
  mlp: 3072,
  layers: 12,
  embed: 512,
  imageSize: 224,
  patch: 16,
  textLength: 52,
  vocab: 21128,
  typeVocab: 2,
  maxPositions: 512,
};
const HEAD_DIM = ARCH.hidden / ARCH.heads;
const TOKENS = (ARCH.imageSize / ARCH.patch) ** 2 + 1;

type Shape = (number | string)[];

/** A GraphBuilder that knows every tensor's shape, declares it in the graph, and so can be checked. */
class Net {
  readonly g: GraphBuilder;
  private readonly shapes = new Map<string, Shape>();
  private readonly rand: () => number;
  /** Inside a layer, the n-th weight asked for is the n-th weight of every layer: shared, same compute. */
  private readonly layerWeights = new Map<number, string>();
  private inLayer = false;
  private layerSlot = 0;

  constructor(name: string, seed: number) {
    this.g = new GraphBuilder(name, 14);
    this.rand = mulberry32(seed);
  }

  shape(t: string): Shape {
    const s = this.shapes.get(t);
    if (!s) throw new Error(`no shape for ${t}`);
    return s;
  }

  /** Runs one transformer layer; its weights are made by the first layer and reused by the others. */
  layer(run: () => void): void {
    this.inLayer = true;
    this.layerSlot = 0;
    run();
    this.inLayer = false;
  }

  declare(t: string, shape: Shape): string {
    return this.out(t, shape);
  }

  private out(t: string, shape: Shape): string {
    this.shapes.set(t, shape);
    this.g.valueInfo(t, F, shape);
    return t;
  }

  input(name: string, type: onnx.TensorProto.DataType, shape: Shape): string {
    this.shapes.set(name, shape);
    return this.g.input(name, type, shape);
  }

  /** Weights drawn like BERT's initialiser (normal, std 0.02). */
  weight(dims: number[], std = 0.02): string {
    if (this.inLayer) {
      const slot = this.layerSlot++;
      const existing = this.layerWeights.get(slot);
      if (existing) return existing;
      const made = this.makeWeight(dims, std);
      this.layerWeights.set(slot, made);
      return made;
    }
    return this.makeWeight(dims, std);
  }

  private makeWeight(dims: number[], std: number): string {
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = gaussian(this.rand) * std;
    const t = this.g.floatConst(data, dims);
    this.shapes.set(t, dims);
    return t;
  }

  fill(dims: number[], value: number): string {
    const t = this.g.floatConst(new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(value), dims);
    this.shapes.set(t, dims);
    return t;
  }

  scalar(value: number): string {
    return this.fill([], value);
  }

  ints(values: number[]): string {
    return this.g.int64Const(values);
  }

  private broadcast(a: Shape, b: Shape): Shape {
    const n = Math.max(a.length, b.length);
    return Array.from({ length: n }, (_, i) => {
      const x = a[a.length - n + i] ?? 1;
      const y = b[b.length - n + i] ?? 1;
      return x === 1 ? y : x;
    });
  }

  binary(op: 'Add' | 'Sub' | 'Mul' | 'Div' | 'Pow', a: string, b: string): string {
    return this.out(this.g.op(op, [a, b]), this.broadcast(this.shape(a), this.shape(b)));
  }

  unary(op: 'Sqrt' | 'Erf' | 'Sigmoid', a: string): string {
    return this.out(this.g.op(op, [a]), this.shape(a));
  }

  matmul(a: string, b: string): string {
    const sa = this.shape(a);
    const sb = this.shape(b);
    const batch = this.broadcast(sa.slice(0, -2), sb.slice(0, -2));
    return this.out(this.g.op('MatMul', [a, b]), [...batch, sa[sa.length - 2]!, sb[sb.length - 1]!]);
  }

  linear(x: string, inDim: number, outDim: number, bias = true): string {
    const y = this.matmul(x, this.weight([inDim, outDim]));
    return bias ? this.binary('Add', y, this.fill([outDim], 0)) : y;
  }

  reduceMeanLast(x: string): string {
    const s = this.shape(x);
    return this.out(this.g.op('ReduceMean', [x], [intsAttr('axes', [-1]), intAttr('keepdims', 1)]), [...s.slice(0, -1), 1]);
  }

  /** LayerNorm as the PyTorch export writes it; onnxruntime fuses it back into one LayerNormalization. */
  layerNorm(x: string, eps: number): string {
    const dim = Number(this.shape(x).at(-1));
    const centred = this.binary('Sub', x, this.reduceMeanLast(x));
    const variance = this.reduceMeanLast(this.binary('Pow', centred, this.scalar(2)));
    const normed = this.binary('Div', centred, this.unary('Sqrt', this.binary('Add', variance, this.scalar(eps))));
    return this.binary('Add', this.binary('Mul', normed, this.fill([dim], 1)), this.fill([dim], 0));
  }

  /** GELU through Erf (BERT): x · ½ · (1 + erf(x / √2)). */
  gelu(x: string): string {
    const erf = this.unary('Erf', this.binary('Div', x, this.scalar(Math.SQRT2)));
    return this.binary('Mul', this.binary('Mul', x, this.binary('Add', erf, this.scalar(1))), this.scalar(0.5));
  }

  /** quick-GELU (CLIP's vision tower): x · sigmoid(1.702 x). */
  quickGelu(x: string): string {
    return this.binary('Mul', x, this.unary('Sigmoid', this.binary('Mul', x, this.scalar(1.702))));
  }

  reshape(x: string, dims: number[], shape: Shape): string {
    return this.out(this.g.op('Reshape', [x, this.ints(dims)]), shape);
  }

  transpose(x: string, perm: number[]): string {
    const s = this.shape(x);
    return this.out(
      this.g.op('Transpose', [x], [intsAttr('perm', perm)]),
      perm.map((p) => s[p]!),
    );
  }

  softmax(x: string): string {
    return this.out(this.g.op('Softmax', [x], [intAttr('axis', -1)]), this.shape(x));
  }

  /** Multi-head self-attention over [batch, seq, hidden]; `mask` is added to the scores. */
  attention(x: string, seq: number, scaleQuery: boolean, mask?: string): string {
    const heads = (t: string) => this.transpose(this.reshape(t, [0, 0, ARCH.heads, HEAD_DIM], ['batch', seq, ARCH.heads, HEAD_DIM]), [0, 2, 1, 3]);
    const scale = 1 / Math.sqrt(HEAD_DIM);
    let q = this.linear(x, ARCH.hidden, ARCH.hidden);
    if (scaleQuery) q = this.binary('Mul', q, this.scalar(scale)); // CLIP scales the query
    const k = this.linear(x, ARCH.hidden, ARCH.hidden);
    const v = this.linear(x, ARCH.hidden, ARCH.hidden);
    const kT = this.transpose(this.reshape(k, [0, 0, ARCH.heads, HEAD_DIM], ['batch', seq, ARCH.heads, HEAD_DIM]), [0, 2, 3, 1]);
    let scores = this.matmul(heads(q), kT);
    if (!scaleQuery) scores = this.binary('Div', scores, this.scalar(Math.sqrt(HEAD_DIM))); // BERT scales the scores
    if (mask) scores = this.binary('Add', scores, mask);
    const context = this.matmul(this.softmax(scores), heads(v));
    const merged = this.reshape(this.transpose(context, [0, 2, 1, 3]), [0, 0, ARCH.hidden], ['batch', seq, ARCH.hidden]);
    return this.linear(merged, ARCH.hidden, ARCH.hidden);
  }

  /** x[:, 0, :] */
  firstToken(x: string): string {
    const s = this.shape(x);
    return this.out(this.g.op('Gather', [x, this.ints([0])], [intAttr('axis', 1)]), [s[0]!, 1, s[2]!]);
  }

  squeezeTokens(x: string): string {
    const s = this.shape(x);
    return this.out(this.g.op('Reshape', [x, this.ints([-1, Number(s[2])])]), [s[0]!, s[2]!]);
  }

  output(t: string, name: string): void {
    this.g.op('Identity', [t], [], name);
    this.g.output(name, F, this.shape(t));
  }
}

export function imageTowerGraph(seed = 16): Uint8Array {
  const n = new Net('vit-b-16-image', seed);
  const pixels = n.input('pixel_values', F, ['batch', 3, ARCH.imageSize, ARCH.imageSize]);
  const grid = ARCH.imageSize / ARCH.patch;
  const conv = n.g.op(
    'Conv',
    [pixels, n.weight([ARCH.hidden, 3, ARCH.patch, ARCH.patch])],
    [intsAttr('kernel_shape', [ARCH.patch, ARCH.patch]), intsAttr('strides', [ARCH.patch, ARCH.patch])],
  );
  n.declare(conv, ['batch', ARCH.hidden, grid, grid]);
  const patches = n.transpose(n.reshape(conv, [0, ARCH.hidden, grid * grid], ['batch', ARCH.hidden, grid * grid]), [0, 2, 1]);
  // The class token for every image of the batch: a zero-cost broadcast of the first patch row.
  const firstRow = n.firstToken(patches);
  const classToken = n.binary('Add', n.binary('Mul', firstRow, n.scalar(0)), n.weight([1, 1, ARCH.hidden]));
  const tokens = n.g.op('Concat', [classToken, patches], [intAttr('axis', 1)]);
  n.declare(tokens, ['batch', TOKENS, ARCH.hidden]);
  let x = n.layerNorm(n.binary('Add', tokens, n.weight([1, TOKENS, ARCH.hidden])), 1e-5);
  for (let layer = 0; layer < ARCH.layers; layer++) {
    n.layer(() => {
      x = n.binary('Add', x, n.attention(n.layerNorm(x, 1e-5), TOKENS, true));
      const mlp = n.linear(n.quickGelu(n.linear(n.layerNorm(x, 1e-5), ARCH.hidden, ARCH.mlp)), ARCH.mlp, ARCH.hidden);
      x = n.binary('Add', x, mlp);
    });
  }
  const pooled = n.layerNorm(n.squeezeTokens(n.firstToken(x)), 1e-5);
  n.output(n.linear(pooled, ARCH.hidden, ARCH.embed, false), 'image_embeds');
  return n.g.encode();
}

export function textTowerGraph(seed = 52): Uint8Array {
  const n = new Net('roberta-wwm-base-text', seed);
  const L = ARCH.textLength;
  const ids = n.input('input_ids', I64, ['batch', L]);
  const mask = n.input('attention_mask', I64, ['batch', L]);
  const types = n.input('token_type_ids', I64, ['batch', L]);
  const gather = (table: string, idx: string) => {
    return n.declare(n.g.op('Gather', [table, idx], [intAttr('axis', 0)]), ['batch', L, ARCH.hidden]);
  };
  const positions = n.g.int64Const(Array.from({ length: L }, (_, i) => i));
  const posEmb = n.declare(n.g.op('Gather', [n.weight([ARCH.maxPositions, ARCH.hidden]), positions], [intAttr('axis', 0)]), [L, ARCH.hidden]);
  const embedded = n.binary(
    'Add',
    n.binary('Add', gather(n.weight([ARCH.vocab, ARCH.hidden]), ids), posEmb),
    gather(n.weight([ARCH.typeVocab, ARCH.hidden]), types),
  );
  let x = n.layerNorm(embedded, 1e-12);
  // (1 - mask) · -10000, broadcast over heads and query positions, as BERT's export adds it.
  const maskF = n.declare(n.g.op('Cast', [n.g.op('Unsqueeze', [mask, n.ints([1, 2])])], [intAttr('to', F)]), ['batch', 1, 1, L]);
  const additive = n.binary('Mul', n.binary('Sub', n.scalar(1), maskF), n.scalar(-10000));
  for (let layer = 0; layer < ARCH.layers; layer++) {
    n.layer(() => {
      x = n.layerNorm(n.binary('Add', x, n.attention(x, L, false, additive)), 1e-12);
      const ffn = n.linear(n.gelu(n.linear(x, ARCH.hidden, ARCH.mlp)), ARCH.mlp, ARCH.hidden);
      x = n.layerNorm(n.binary('Add', x, ffn), 1e-12);
    });
  }
  n.output(n.linear(n.squeezeTokens(n.firstToken(x)), ARCH.hidden, ARCH.embed, false), 'text_embeds');
  return n.g.encode();
}

/**
 * Dynamic int8 quantisation of every MatMul whose second input is a weight, as onnxruntime's
 * quantize_dynamic writes it: the activation is quantised at run time (DynamicQuantizeLinear, uint8),
 * the weight ahead of time (int8, symmetric, per tensor), MatMulInteger, then rescaled to float.
 */
export function quantizeMatMulWeights(model: Uint8Array): Uint8Array {
  const m = onnx.ModelProto.decode(model);
  const graph = m.graph!;
  const inits = new Map(graph.initializer!.map((t) => [t.name!, t]));
  const shapes = new Map(graph.valueInfo!.map((v) => [v.name!, v]));
  const quantized = new Map<string, { q: string; scale: string; zp: string }>();
  const nodes: onnx.INodeProto[] = [];
  let k = 0;
  const quantizeWeight = (name: string) => {
    const done = quantized.get(name);
    if (done) return done;
    const t = inits.get(name)!;
    const raw = t.rawData!;
    const w = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    const scale = w.reduce((a, v) => Math.max(a, Math.abs(v)), 0) / 127 || 1;
    const q = Int8Array.from(w, (v) => Math.max(-127, Math.min(127, Math.round(v / scale))));
    const entry = { q: `${name}_quantized`, scale: `${name}_scale`, zp: `${name}_zero_point` };
    graph.initializer!.push(
      { name: entry.q, dataType: onnx.TensorProto.DataType.INT8, dims: t.dims, rawData: new Uint8Array(q.buffer) },
      { name: entry.scale, dataType: F, dims: [], floatData: [scale] },
      { name: entry.zp, dataType: onnx.TensorProto.DataType.INT8, dims: [], rawData: new Uint8Array(1) },
    );
    quantized.set(name, entry);
    return entry;
  };
  for (const node of graph.node!) {
    const weight = node.input?.[1];
    if (node.opType !== 'MatMul' || !weight || !inits.has(weight) || inits.get(weight)!.dims!.length !== 2) {
      nodes.push(node);
      continue;
    }
    const w = quantizeWeight(weight);
    const id = k++;
    const [aq, as, az, yi, yf, s] = ['_quant', '_scale', '_zp', '_int', '_float', '_scales'].map((x) => `mm${id}${x}`) as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const aShape = shapes.get(node.input![0]!)?.type;
    const yShape = shapes.get(node.output![0]!)?.type;
    if (aShape) graph.valueInfo!.push({ name: aq, type: { tensorType: { ...aShape.tensorType, elemType: onnx.TensorProto.DataType.UINT8 } } });
    if (yShape) graph.valueInfo!.push({ name: yi, type: { tensorType: { ...yShape.tensorType, elemType: onnx.TensorProto.DataType.INT32 } } });
    nodes.push(
      { opType: 'DynamicQuantizeLinear', input: [node.input![0]!], output: [aq, as, az], name: `dq${id}` },
      { opType: 'MatMulInteger', input: [aq, w.q, az, w.zp], output: [yi], name: `mmi${id}` },
      { opType: 'Cast', input: [yi], output: [yf], attribute: [intAttr('to', F)], name: `cast${id}` },
      { opType: 'Mul', input: [as, w.scale], output: [s], name: `scales${id}` },
      { opType: 'Mul', input: [yf, s], output: node.output, name: `rescale${id}` },
    );
  }
  graph.node = nodes;
  // Weights no MatMul reads any more are dropped, as quantize_dynamic does.
  const used = new Set(nodes.flatMap((n) => n.input ?? []));
  graph.initializer = graph.initializer!.filter((t) => used.has(t.name!));
  return onnx.ModelProto.encode(m).finish();
}

export type ArchVariant = 'fp32' | 'int8';

/** Writes a pack of the two towers (and a vocabulary for the tokenizer) in `outDir`. */
export async function makeArchPack(outDir: string, variant: ArchVariant): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const image = imageTowerGraph();
  const text = textTowerGraph();
  await writeFile(path.join(outDir, 'image.onnx'), variant === 'int8' ? quantizeMatMulWeights(image) : image);
  await writeFile(path.join(outDir, 'text.onnx'), variant === 'int8' ? quantizeMatMulWeights(text) : text);
  const vocab = buildVocab();
  await writeFile(path.join(outDir, 'vocab.txt'), `${vocab.join('\n')}\n`);
  await writeManifest(outDir, {
    name: `bench-vit-b16-arch-${variant}`,
    version: '1',
    description: `Chinese-CLIP ViT-B/16 architecture with random weights (${variant}), for timing only`,
    testOnly: true,
    embeddingDim: ARCH.embed,
    image: {
      file: 'image.onnx',
      input: 'pixel_values',
      output: 'image_embeds',
      size: ARCH.imageSize,
      resize: 'squash',
      interpolation: 'bicubic',
      mean: [0.48145466, 0.4578275, 0.40821073],
      std: [0.26862954, 0.26130258, 0.27577711],
    },
    text: {
      file: 'text.onnx',
      inputs: { ids: 'input_ids', mask: 'attention_mask', tokenTypes: 'token_type_ids' },
      output: 'text_embeds',
      maxLength: ARCH.textLength,
      script: 'simplified',
      tokenizer: { file: 'vocab.txt', lowercase: true },
    },
  });
  return outDir;
}
