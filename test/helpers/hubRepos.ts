/**
 * Generates small model repositories in the four layouts the hubs publish, with real ONNX graphs
 * (random weights, the real input and output names), for the loopback hub tests.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { onnx } from 'onnx-proto';
import { GraphBuilder, intAttr, intsAttr } from '../../scripts/lib/onnxGraph';
import { gaussianRows, MEAN, STD } from '../../scripts/test-pack/make';
import { mulberry32 } from '../../scripts/lib/random';
import { bertTokenizerJsonFromVocab } from '../../src/models/tokenizer';

const F = onnx.TensorProto.DataType.FLOAT;
const I64 = onnx.TensorProto.DataType.INT64;
const I32 = onnx.TensorProto.DataType.INT32;
const F16 = onnx.TensorProto.DataType.FLOAT16;
export const DIM = 16;
export const SIZE = 32;

export type RepoFiles = Map<string, Buffer>;

/** The real Chinese-CLIP vocabulary and configs, read from ../shared/reference. */
export const REFERENCE_DIR = path.resolve(__dirname, '../../../shared/reference/chinese-clip-vit-base-patch16');
export const referenceFile = (name: string) => readFile(path.join(REFERENCE_DIR, name));

function normalise(g: GraphBuilder, x: string, out: string): void {
  g.op('Div', [x, g.op('ReduceL2', [x], [intsAttr('axes', [1]), intAttr('keepdims', 1)])], [], out);
}

function imagePath(g: GraphBuilder, pixels: string, rand: () => number, half = false): string {
  const mean = g.op('ReduceMean', [pixels], [intsAttr('axes', [2, 3]), intAttr('keepdims', 0)]);
  const sq = g.op('ReduceMean', [g.op('Mul', [pixels, pixels])], [intsAttr('axes', [2, 3]), intAttr('keepdims', 0)]);
  const feats = g.op('Concat', [mean, sq], [intAttr('axis', 1)]);
  const weights = gaussianRows(6, DIM, rand, 1);
  return g.op('MatMul', [feats, half ? g.float16Const(weights, [6, DIM]) : g.floatConst(weights, [6, DIM])]);
}

function textPath(g: GraphBuilder, ids: string, mask: string | undefined, tokenTypes: string | undefined, vocabSize: number, rand: () => number): string {
  let tokens = g.op('Gather', [g.floatConst(gaussianRows(vocabSize, DIM, rand, 1), [vocabSize, DIM]), ids], [intAttr('axis', 0)]);
  if (tokenTypes) tokens = g.op('Add', [tokens, g.op('Gather', [g.floatConst(gaussianRows(2, DIM, rand, 0.1), [2, DIM]), tokenTypes], [intAttr('axis', 0)])]);
  // cn_clip's export derives its mask from [PAD] = 0 itself.
  const maskSource = mask ?? g.op('Cast', [g.op('Greater', [ids, g.int64Const([0])])], [intAttr('to', I64)]);
  const maskF = g.op('Cast', [maskSource], [intAttr('to', F)]);
  const summed = g.op('ReduceSum', [g.op('Mul', [tokens, g.op('Unsqueeze', [maskF, g.int64Const([2])])]), g.int64Const([1])], [intAttr('keepdims', 0)]);
  const mean = g.op('Div', [summed, g.op('ReduceSum', [maskF, g.int64Const([1])], [intAttr('keepdims', 1)])]);
  return g.op('MatMul', [mean, g.floatConst(gaussianRows(DIM, DIM, rand, 1), [DIM, DIM])]);
}

/** transformers.js's ChineseCLIPModel export: one graph, text and pixels in, both embeddings and logits out. */
export function combinedGraph(vocabSize: number, seed: number): Uint8Array {
  const rand = mulberry32(seed);
  const g = new GraphBuilder('chinese-clip-combined');
  const ids = g.input('input_ids', I64, ['batch_size', 'sequence_length']);
  const mask = g.input('attention_mask', I64, ['batch_size', 'sequence_length']);
  const types = g.input('token_type_ids', I64, ['batch_size', 'sequence_length']);
  const pixels = g.input('pixel_values', F, ['batch_size', 3, SIZE, SIZE]);
  normalise(g, textPath(g, ids, mask, types, vocabSize, rand), 'text_embeds');
  normalise(g, imagePath(g, pixels, rand), 'image_embeds');
  const logits = g.op(
    'Mul',
    [g.op('MatMul', ['image_embeds', g.op('Transpose', ['text_embeds'], [intsAttr('perm', [1, 0])])]), g.floatConst([100], [1])],
    [],
    'logits_per_image',
  );
  g.op('Transpose', [logits], [intsAttr('perm', [1, 0])], 'logits_per_text');
  g.output('logits_per_image', F, ['image_batch_size', 'text_batch_size']);
  g.output('logits_per_text', F, ['text_batch_size', 'image_batch_size']);
  g.output('text_embeds', F, ['text_batch_size', DIM]);
  g.output('image_embeds', F, ['image_batch_size', DIM]);
  return g.encode();
}

/** `batch`: the first dimension, a name (any batch) or a number (exports without dynamic axes fix it, often at 1). */
function imageGraph(input: string, output: string, seed: number, batch: number | string = 'batch'): Uint8Array {
  const g = new GraphBuilder('vision');
  const pixels = g.input(input, F, [batch, 3, SIZE, SIZE]);
  g.op('Identity', [imagePath(g, pixels, mulberry32(seed))], [], output);
  g.output(output, F, [batch, DIM]);
  return g.encode();
}

function textGraph(opts: {
  ids: string;
  mask?: string;
  idsType: onnx.TensorProto.DataType;
  length: number | string;
  vocabSize: number;
  output: string;
  seed: number;
  batch?: number | string;
}): Uint8Array {
  const g = new GraphBuilder('text');
  const batch = opts.batch ?? 'batch';
  const ids = g.input(opts.ids, opts.idsType, [batch, opts.length]);
  const mask = opts.mask ? g.input(opts.mask, opts.idsType, [batch, opts.length]) : undefined;
  const idsForMask = opts.idsType === I32 && !mask ? g.op('Cast', [ids], [intAttr('to', I64)]) : ids;
  g.op('Identity', [textPath(g, idsForMask, mask, undefined, opts.vocabSize, mulberry32(opts.seed))], [], opts.output);
  g.output(opts.output, F, [batch, DIM]);
  return g.encode();
}

/**
 * Moves a graph's weights out of it into ONNX external data, each tensor to the file `locate` names
 * (relative to the graph's folder): one file for all (torch's exporter, cn_clip's fp16 export) or one per
 * tensor (onnx.save with all_tensors_to_one_file=False).
 */
export function externalise(graph: Uint8Array, locate: (tensor: string) => string): { graph: Buffer; data: Map<string, Buffer> } {
  const model = onnx.ModelProto.decode(graph);
  const data = new Map<string, Buffer>();
  for (const t of model.graph!.initializer!) {
    if (!t.rawData || t.rawData.length === 0) continue;
    const bytes = Buffer.from(t.rawData);
    const location = locate(t.name!);
    const before = data.get(location) ?? Buffer.alloc(0);
    t.rawData = new Uint8Array();
    t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    t.externalData = [
      { key: 'location', value: location },
      { key: 'offset', value: String(before.length) },
      { key: 'length', value: String(bytes.length) },
    ];
    data.set(location, Buffer.concat([before, bytes]));
  }
  return { graph: Buffer.from(onnx.ModelProto.encode(model).finish()), data };
}

const json = (v: unknown) => Buffer.from(JSON.stringify(v, null, 2));
const chineseClipPreprocessor = async () => {
  const real = JSON.parse((await referenceFile('preprocessor_config.json')).toString()) as Record<string, unknown>;
  return json({ ...real, size: { height: SIZE, width: SIZE }, crop_size: { height: SIZE, width: SIZE } });
};

/** Xenova/chinese-clip-vit-base-patch16: real configs and vocabulary at the root, combined graphs in onnx/. */
export async function xenovaRepo(): Promise<RepoFiles> {
  const files: RepoFiles = new Map();
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt']) files.set(f, await referenceFile(f));
  // The real config, with the generated graphs' embedding size.
  files.set('config.json', json({ ...(JSON.parse((await referenceFile('config.json')).toString()) as object), projection_dim: DIM }));
  files.set('preprocessor_config.json', await chineseClipPreprocessor());
  const vocabSize = (await referenceFile('vocab.txt')).toString().split('\n').filter(Boolean).length;
  files.set('onnx/model.onnx', Buffer.from(combinedGraph(vocabSize, 1)));
  files.set('onnx/model_quantized.onnx', Buffer.from(combinedGraph(vocabSize, 2)));
  files.set('onnx/model_fp16.onnx', Buffer.from(combinedGraph(vocabSize, 3)));
  files.set('README.md', Buffer.from('generated for tests'));
  return files;
}

/**
 * An fp16 image tower as cn_clip exports it (float16_converter with keep_io_types=True): float32 pixels in
 * and embeddings out, float16 weights and arithmetic inside, the weights in an external-data file beside it.
 */
function fp16ImageGraphWithExternalData(file: string, seed: number): { graph: Buffer; data: Buffer } {
  const g = new GraphBuilder('vision-fp16');
  const pixels = g.input('image', F, ['batch', 3, SIZE, SIZE]);
  const features = imagePath(g, g.op('Cast', [pixels], [intAttr('to', F16)]), mulberry32(seed), true);
  g.op('Cast', [features], [intAttr('to', F)], 'unnorm_image_features');
  g.output('unnorm_image_features', F, ['batch', DIM]);
  const { graph, data } = externalise(g.encode(), () => `${file}.extra_file`);
  return { graph, data: data.get(`${file}.extra_file`)! };
}

/**
 * cn_clip's deploy export (pytorch_to_onnx.py): two graphs per precision, no vocabulary (that comes from the
 * companion repository). Its text export has no dynamic axes, so the text tower is fixed at [1, 52]; its
 * vision export has them.
 */
export function cnClipRepo(model = 'vit-b-16', size = SIZE): RepoFiles {
  const fp16 = fp16ImageGraphWithExternalData(`${model}.img.fp16.onnx`, 10);
  const text = Buffer.from(textGraph({ ids: 'text', idsType: I64, length: 52, vocabSize: 21128, output: 'unnorm_text_features', seed: 5, batch: 1 }));
  const image = size === SIZE ? imageGraph('image', 'unnorm_image_features', 4) : sizedImageGraph(size);
  return new Map([
    [`${model}.img.fp32.onnx`, Buffer.from(image)],
    [`${model}.txt.fp32.onnx`, text],
    [`${model}.img.fp16.onnx`, fp16.graph],
    [`${model}.img.fp16.onnx.extra_file`, fp16.data],
    [`${model}.txt.fp16.onnx`, text],
  ]);
}

/** An image tower of another input size (cn_clip's ViT-L-14-336 takes 336 px). */
function sizedImageGraph(size: number): Uint8Array {
  const g = new GraphBuilder('vision');
  const pixels = g.input('image', F, ['batch', 3, size, size]);
  g.op('Identity', [imagePath(g, pixels, mulberry32(4))], [], 'unnorm_image_features');
  g.output('unnorm_image_features', F, ['batch', DIM]);
  return g.encode();
}

/** OFA-Sys/chinese-clip-vit-base-patch16: where cn_clip's vocabulary and preprocessing come from. */
export async function ofaSysRepo(): Promise<RepoFiles> {
  return new Map([
    ['vocab.txt', await referenceFile('vocab.txt')],
    ['preprocessor_config.json', await chineseClipPreprocessor()],
    ['config.json', await referenceFile('config.json')],
  ]);
}

const SMALL_VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', '海', '边', '的', '日', '落', 'a', 'cat', '##s'];

/** transformers.js split layout (Xenova/clip-*): OpenAI CLIP's shortest-edge resize and centre crop. */
export function splitRepo(): RepoFiles {
  return new Map([
    ['config.json', json({ model_type: 'clip', projection_dim: DIM })],
    [
      'preprocessor_config.json',
      json({
        do_resize: true,
        size: { shortest_edge: SIZE },
        do_center_crop: true,
        crop_size: { height: SIZE, width: SIZE },
        resample: 3,
        do_rescale: true,
        rescale_factor: 1 / 255,
        do_normalize: true,
        image_mean: [...MEAN],
        image_std: [...STD],
      }),
    ],
    ['tokenizer.json', json(bertTokenizerJsonFromVocab(SMALL_VOCAB, true))],
    ['tokenizer_config.json', json({ tokenizer_class: 'BertTokenizer', model_max_length: 16, pad_token: '[PAD]' })],
    ['onnx/vision_model.onnx', Buffer.from(imageGraph('pixel_values', 'image_embeds', 6))],
    [
      'onnx/text_model.onnx',
      Buffer.from(
        textGraph({
          ids: 'input_ids',
          mask: 'attention_mask',
          idsType: I64,
          length: 'sequence',
          vocabSize: SMALL_VOCAB.length,
          output: 'text_embeds',
          seed: 7,
        }),
      ),
    ],
  ]);
}

/** Immich's layout: open_clip config.json, visual/ and textual/ folders, int32 `text` input; its exporter fixes both towers at batch 1. */
export function immichRepo(): RepoFiles {
  return new Map([
    ['config.json', json({ embed_dim: DIM, vision_cfg: { image_size: SIZE }, text_cfg: { context_length: 16 } })],
    ['visual/model.onnx', Buffer.from(imageGraph('image', 'embedding', 8, 1))],
    [
      'visual/preprocess_cfg.json',
      json({ size: [SIZE, SIZE], mode: 'RGB', mean: [...MEAN], std: [...STD], interpolation: 'bicubic', resize_mode: 'shortest', fill_color: 0 }),
    ],
    [
      'textual/model.onnx',
      Buffer.from(textGraph({ ids: 'text', idsType: I32, length: 16, vocabSize: SMALL_VOCAB.length, output: 'embedding', seed: 9, batch: 1 })),
    ],
    ['textual/tokenizer.json', json(bertTokenizerJsonFromVocab(SMALL_VOCAB, true))],
    ['textual/tokenizer_config.json', json({ tokenizer_class: 'BertTokenizer', pad_token: '[PAD]' })],
  ]);
}

/** The split layout with every weight in a file of its own under onnx/weights/ (onnx.save, all_tensors_to_one_file=False). */
export function splitPerTensorRepo(): RepoFiles {
  const files = splitRepo();
  for (const graph of ['onnx/vision_model.onnx', 'onnx/text_model.onnx']) {
    const { graph: bytes, data } = externalise(files.get(graph)!, (tensor) => `weights/${path.posix.basename(graph, '.onnx')}-${tensor}`);
    files.set(graph, bytes);
    for (const [location, d] of data) files.set(`onnx/${location}`, d);
  }
  return files;
}

/** Xenova's layout for a model over 2 GB: the combined graph's weights in onnx/model.onnx_data, as config.json's transformers.js_config says. */
export async function xenovaExternalRepo(): Promise<RepoFiles> {
  const files = await xenovaRepo();
  const { graph, data } = externalise(files.get('onnx/model.onnx')!, () => 'model.onnx_data');
  files.set('onnx/model.onnx', graph);
  files.set('onnx/model.onnx_data', data.get('model.onnx_data')!);
  const config = JSON.parse(files.get('config.json')!.toString()) as Record<string, unknown>;
  files.set('config.json', json({ ...config, 'transformers.js_config': { use_external_data_format: true } }));
  return files;
}

/** OFA-Sys/chinese-clip-vit-large-patch14-336px: the preprocessing of cn_clip's ViT-L-14-336. */
export async function ofaSys336Repo(): Promise<RepoFiles> {
  const real = JSON.parse((await referenceFile('preprocessor_config.json')).toString()) as Record<string, unknown>;
  return new Map([
    ['vocab.txt', await referenceFile('vocab.txt')],
    ['preprocessor_config.json', json({ ...real, size: { height: 336, width: 336 }, crop_size: { height: 336, width: 336 } })],
  ]);
}

/** The split layout whose vision graph declares an open batch but reshapes to one item inside (an export traced at batch 1). */
export function splitRepoBatchOneInside(): RepoFiles {
  const g = new GraphBuilder('vision');
  const pixels = g.input('pixel_values', F, ['batch', 3, SIZE, SIZE]);
  g.op('Reshape', [imagePath(g, pixels, mulberry32(6)), g.int64Const([1, DIM])], [], 'image_embeds');
  g.output('image_embeds', F, ['batch', DIM]);
  return new Map([...splitRepo(), ['onnx/vision_model.onnx', Buffer.from(g.encode())]]);
}
