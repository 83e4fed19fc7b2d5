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
import { intAttr, intsAttr } from '../scripts/lib/onnxGraph';
import { Net } from './net';
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
const TOKENS = (ARCH.imageSize / ARCH.patch) ** 2 + 1;

export function imageTowerGraph(seed = 16): Uint8Array {
  const n = new Net('vit-b-16-image', seed, ARCH);
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
  const n = new Net('roberta-wwm-base-text', seed, ARCH);
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
