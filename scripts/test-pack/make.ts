/**
 * Writes the project's tiny test model pack: real ONNX graphs with Chinese-CLIP's
 * signatures (pixel_values [N,3,H,W] -> [N,D]; input_ids + attention_mask [N,L] -> [N,D])
 * that run in microseconds and map colour images and colour words to nearby vectors.
 *
 * Usage: tsx scripts/test-pack/make.ts [outDir]   (default models/test-pack)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { onnx } from 'onnx-proto';
import { packKey, writeManifest, type ModelManifest } from '../../src/models/manifest';
import { GraphBuilder, intAttr, intsAttr } from '../lib/onnxGraph';
import { gaussian, mulberry32 } from '../lib/random';
import { COLOURS, FILLER_CHARS } from './concepts';

const DIM = 64;
export const IMAGE_SIZE = 32;
const MAX_TEXT = 52;
export const MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const STD = [0.26862954, 0.26130258, 0.27577711] as const;
/** Softmax temperature over squared RGB distances: sharp enough that a colour wins clearly. */
const INV_TEMPERATURE = 40;
/** A colour word outweighs the rest of a short sentence in the mean-pooled text vector. */
const COLOUR_TOKEN_WEIGHT = 12;
const F = onnx.TensorProto.DataType.FLOAT;
const I64 = onnx.TensorProto.DataType.INT64;

export function gaussianRows(rows: number, dim: number, rand: () => number, norm: number): Float32Array {
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let sq = 0;
    for (let d = 0; d < dim; d++) {
      const g = gaussian(rand);
      out[r * dim + d] = g;
      sq += g * g;
    }
    const s = norm / Math.sqrt(sq);
    for (let d = 0; d < dim; d++) out[r * dim + d]! *= s;
  }
  return out;
}

export function buildVocab(): string[] {
  const letters = [...'abcdefghijklmnopqrstuvwxyz0123456789'];
  const words = COLOURS.flatMap((c) => c.words).filter((w) => w.length > 1);
  const chars = [...new Set([...COLOURS.flatMap((c) => c.words).filter((w) => w.length === 1), ...FILLER_CHARS])];
  return ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...words, ...chars, ...letters, ...letters.map((l) => `##${l}`)];
}

/**
 * Graph nodes from normalised pixels [N,3,H,W] to (mean RGB [N,3], colour-concept weights [N,K]):
 * a softmax over squared distances between the image's mean colour and each concept's prototype.
 */
export function colourWeights(g: GraphBuilder, pixels: string, mean: readonly number[], std: readonly number[]): { rgbMean: string; weights: string } {
  const meanNorm = g.op('ReduceMean', [pixels], [intsAttr('axes', [2, 3]), intAttr('keepdims', 0)]);
  // Undo the normalisation so prototypes live in plain [0,1] RGB.
  const rgbMean = g.op('Add', [g.op('Mul', [meanNorm, g.floatConst(std, [3])]), g.floatConst(mean, [3])]);
  const protos = COLOURS.flatMap((c) => c.rgb.map((v) => v / 255));
  const diff = g.op('Sub', [g.op('Unsqueeze', [rgbMean, g.int64Const([1])]), g.floatConst(protos, [COLOURS.length, 3])]);
  const dist = g.op('ReduceSum', [g.op('Mul', [diff, diff]), g.int64Const([2])], [intAttr('keepdims', 0)]);
  const weights = g.op('Softmax', [g.op('Mul', [dist, g.floatConst([-INV_TEMPERATURE], [1])])], [intAttr('axis', 1)]);
  return { rgbMean, weights };
}

function imageEncoder(concepts: Float32Array, rand: () => number): Uint8Array {
  const g = new GraphBuilder('test-pack-image');
  const pixels = g.input('pixel_values', F, ['batch', 3, IMAGE_SIZE, IMAGE_SIZE]);
  const { rgbMean, weights } = colourWeights(g, pixels, MEAN, STD);
  const conceptPart = g.op('MatMul', [weights, g.floatConst(concepts, [COLOURS.length, DIM])]);
  // A small direct RGB term keeps different shades of one colour apart for image-to-image search.
  const shadePart = g.op('MatMul', [rgbMean, g.floatConst(gaussianRows(3, DIM, rand, 0.15), [3, DIM])]);
  g.op('Add', [conceptPart, shadePart], [], 'image_embeds');
  g.output('image_embeds', F, ['batch', DIM]);
  return g.encode();
}

function textEncoder(vocab: string[], concepts: Float32Array, rand: () => number): Uint8Array {
  const table = gaussianRows(vocab.length, DIM, rand, 0.3);
  COLOURS.forEach((c, k) => {
    for (const w of c.words) {
      const id = vocab.indexOf(w);
      for (let d = 0; d < DIM; d++) table[id * DIM + d] = COLOUR_TOKEN_WEIGHT * concepts[k * DIM + d]!;
    }
  });
  const g = new GraphBuilder('test-pack-text');
  const ids = g.input('input_ids', I64, ['batch', MAX_TEXT]);
  const mask = g.input('attention_mask', I64, ['batch', MAX_TEXT]);
  const tokens = g.op('Gather', [g.floatConst(table, [vocab.length, DIM]), ids], [intAttr('axis', 0)]);
  const maskF = g.op('Cast', [mask], [intAttr('to', F)]);
  const masked = g.op('Mul', [tokens, g.op('Unsqueeze', [maskF, g.int64Const([2])])]);
  const sum = g.op('ReduceSum', [masked, g.int64Const([1])], [intAttr('keepdims', 0)]);
  const count = g.op('ReduceSum', [maskF, g.int64Const([1])], [intAttr('keepdims', 1)]);
  g.op('Div', [sum, count], [], 'text_embeds');
  g.output('text_embeds', F, ['batch', DIM]);
  return g.encode();
}

export async function makeTestPack(outDir: string): Promise<ModelManifest> {
  const rand = mulberry32(20261124);
  const concepts = gaussianRows(COLOURS.length, DIM, rand, 1);
  const vocab = buildVocab();
  await mkdir(outDir, { recursive: true });
  await writeFile(path.join(outDir, 'image_encoder.onnx'), imageEncoder(concepts, rand));
  await writeFile(path.join(outDir, 'text_encoder.onnx'), textEncoder(vocab, concepts, rand));
  await writeFile(path.join(outDir, 'vocab.txt'), `${vocab.join('\n')}\n`);
  return writeManifest(outDir, {
    name: 'test-pack',
    version: '1',
    description: 'Generated colour-concept dual encoder for tests (not a real model).',
    testOnly: true,
    embeddingDim: DIM,
    image: {
      file: 'image_encoder.onnx',
      input: 'pixel_values',
      output: 'image_embeds',
      size: IMAGE_SIZE,
      resize: 'squash',
      interpolation: 'bicubic',
      mean: [...MEAN],
      std: [...STD],
    },
    text: {
      file: 'text_encoder.onnx',
      inputs: { ids: 'input_ids', mask: 'attention_mask' },
      output: 'text_embeds',
      maxLength: MAX_TEXT,
      // As Chinese-CLIP's: its vocabulary knows simplified characters only.
      script: 'simplified',
      tokenizer: { file: 'vocab.txt', lowercase: true },
    },
  });
}

if (require.main === module) {
  const out = path.resolve(process.argv[2] ?? 'models/test-pack');
  makeTestPack(out)
    .then((m) => console.log(`wrote ${packKey(m)} to ${out}`))
    .catch((e: unknown) => {
      console.error(e);
      process.exit(1);
    });
}
