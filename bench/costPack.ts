/**
 * A benchmark-only model pack with the compute of Chinese-CLIP ViT-B/16 but random weights:
 * the image tower is a 16×16 patch embedding to 768-d followed by 12 MLP blocks (768→3072→768)
 * over 196 tokens (~22 GFLOPs per image, ViT-B/16 is ~17.5); the text tower runs 12 such blocks
 * over 52 tokens. It answers nothing meaningful; it makes ingest and query timings realistic
 * where the real pack is not available. Blocks share weights: same FLOPs, small file.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { onnx } from 'onnx-proto';
import { buildVocab, gaussianRows } from '../scripts/test-pack/make';
import { mulberry32 } from '../scripts/lib/random';
import { GraphBuilder, intAttr, intsAttr } from '../scripts/lib/onnxGraph';
import { writeManifest } from '../src/models/manifest';

const F = onnx.TensorProto.DataType.FLOAT;
const I64 = onnx.TensorProto.DataType.INT64;
const HIDDEN = 768;
const MLP = 3072;
const LAYERS = 12;
const DIM = 512;
const TEXT_LEN = 52;

function mlpBlocks(g: GraphBuilder, x: string, rand: () => number): string {
  const w1 = g.floatConst(gaussianRows(HIDDEN, MLP, rand, 1), [HIDDEN, MLP]);
  const w2 = g.floatConst(gaussianRows(MLP, HIDDEN, rand, 1), [MLP, HIDDEN]);
  let h = x;
  for (let i = 0; i < LAYERS; i++) h = g.op('Add', [h, g.op('MatMul', [g.op('Relu', [g.op('MatMul', [h, w1])]), w2])]);
  return h;
}

function imageTower(rand: () => number): Uint8Array {
  const g = new GraphBuilder('cost-image');
  const pixels = g.input('pixel_values', F, ['batch', 3, 224, 224]);
  const patches = g.op(
    'Conv',
    [pixels, g.floatConst(gaussianRows(HIDDEN, 3 * 16 * 16, rand, 1), [HIDDEN, 3, 16, 16])],
    [intsAttr('kernel_shape', [16, 16]), intsAttr('strides', [16, 16])],
  );
  const tokens = g.op('Transpose', [g.op('Reshape', [patches, g.int64Const([0, HIDDEN, 196])])], [intsAttr('perm', [0, 2, 1])]);
  const pooled = g.op('ReduceMean', [mlpBlocks(g, tokens, rand)], [intsAttr('axes', [1]), intAttr('keepdims', 0)]);
  g.op('MatMul', [pooled, g.floatConst(gaussianRows(HIDDEN, DIM, rand, 1), [HIDDEN, DIM])], [], 'image_embeds');
  g.output('image_embeds', F, ['batch', DIM]);
  return g.encode();
}

function textTower(vocabSize: number, rand: () => number): Uint8Array {
  const g = new GraphBuilder('cost-text');
  const ids = g.input('input_ids', I64, ['batch', TEXT_LEN]);
  const tokens = g.op('Gather', [g.floatConst(gaussianRows(vocabSize, HIDDEN, rand, 1), [vocabSize, HIDDEN]), ids], [intAttr('axis', 0)]);
  const pooled = g.op('ReduceMean', [mlpBlocks(g, tokens, rand)], [intsAttr('axes', [1]), intAttr('keepdims', 0)]);
  g.op('MatMul', [pooled, g.floatConst(gaussianRows(HIDDEN, DIM, rand, 1), [HIDDEN, DIM])], [], 'text_embeds');
  g.output('text_embeds', F, ['batch', DIM]);
  return g.encode();
}

export async function makeCostPack(outDir: string): Promise<string> {
  const rand = mulberry32(42);
  const vocab = buildVocab();
  await mkdir(outDir, { recursive: true });
  await writeFile(path.join(outDir, 'image.onnx'), imageTower(rand));
  await writeFile(path.join(outDir, 'text.onnx'), textTower(vocab.length, rand));
  await writeFile(path.join(outDir, 'vocab.txt'), `${vocab.join('\n')}\n`);
  await writeManifest(outDir, {
    name: 'bench-vit-b16-cost',
    version: '1',
    description: 'ViT-B/16-sized random-weight encoders for timing only',
    testOnly: true,
    embeddingDim: DIM,
    image: {
      file: 'image.onnx',
      input: 'pixel_values',
      output: 'image_embeds',
      size: 224,
      resize: 'squash',
      interpolation: 'bicubic',
      mean: [0.48145466, 0.4578275, 0.40821073],
      std: [0.26862954, 0.26130258, 0.27577711],
    },
    text: { file: 'text.onnx', inputs: { ids: 'input_ids' }, output: 'text_embeds', maxLength: TEXT_LEN, tokenizer: { file: 'vocab.txt', lowercase: true } },
  });
  return outDir;
}
