import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ManifestDraft } from '../manifest';
import { ModelInstallError } from './errors';
import type { InstallPlan } from './layouts';

type Json = Record<string, unknown>;

export interface GraphIo {
  inputs: { name: string; type: string; shape: (number | string)[] }[];
  outputs: { name: string; type: string; shape: (number | string)[] }[];
}

/** Input and output names, types and shapes, read from the graph by onnxruntime (which also proves it loads). */
export async function readGraphIo(file: string): Promise<GraphIo> {
  let session: ort.InferenceSession;
  try {
    // 'basic', as onnxruntime's users run graphs: an fp16 export has been reported to fail to load with
    // optimisations disabled (a type error on a cast onnxruntime inserts itself), which 'basic' avoids.
    session = await ort.InferenceSession.create(file, { executionProviders: ['cpu'], graphOptimizationLevel: 'basic' });
  } catch (e) {
    throw new ModelInstallError(`${path.basename(file)} does not load in onnxruntime: ${(e as Error).message}`);
  }
  const describe = (m: readonly ort.InferenceSession.ValueMetadata[]) =>
    m.map((v) => (v.isTensor ? { name: v.name, type: v.type, shape: [...v.shape] } : { name: v.name, type: 'non-tensor', shape: [] }));
  const io = { inputs: describe(session.inputMetadata), outputs: describe(session.outputMetadata) };
  await session.release();
  return io;
}

/** Reads JSON from the pack, naming the file when it is missing or broken. */
async function readJson(dir: string, file: string): Promise<Json> {
  let text: string;
  try {
    text = await readFile(path.join(dir, file), 'utf8');
  } catch {
    throw new ModelInstallError(`the repository has no ${file}, which the pack's settings come from`);
  }
  try {
    return JSON.parse(text) as Json;
  } catch (e) {
    throw new ModelInstallError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
}

function field<T>(file: string, obj: Json, key: string, check: (v: unknown) => v is T, what: string): T {
  const v = obj[key];
  if (!check(v)) throw new ModelInstallError(`${file}: field ${key} ${v === undefined ? 'is missing' : `is ${JSON.stringify(v)}`}; expected ${what}`);
  return v;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isRgb = (v: unknown): v is [number, number, number] => Array.isArray(v) && v.length === 3 && v.every(isNum);
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The embedding size both towers produce: their outputs' last dimension, which must agree. */
function embeddingDim(image: GraphIo['outputs'][number], text: GraphIo['outputs'][number], plan: InstallPlan): number {
  const dim = (o: GraphIo['outputs'][number], file: string) => {
    const d = o.shape[o.shape.length - 1];
    if (typeof d !== 'number') throw new ModelInstallError(`${file}: output ${o.name} has no fixed embedding size (shape [${o.shape.join(', ')}])`);
    return d;
  };
  const i = dim(image, plan.image);
  const t = dim(text, plan.text);
  if (i !== t) throw new ModelInstallError(`${plan.image} output ${image.name} has ${i} dimensions but ${plan.text} output ${text.name} has ${t}`);
  return i;
}

function chooseOutput(io: GraphIo, preferred: readonly string[], file: string): GraphIo['outputs'][number] {
  const found = preferred.map((n) => io.outputs.find((o) => o.name === n)).find(Boolean) ?? (io.outputs.length === 1 ? io.outputs[0] : undefined);
  if (!found) throw new ModelInstallError(`${file}: no embedding output among ${io.outputs.map((o) => o.name).join(', ')} (looked for ${preferred.join(', ')})`);
  return found;
}

/** A fixed first dimension: the graph takes that many items per run and no other number. */
const fixedBatch = (shape: readonly (number | string)[]): { maxBatch?: number } => (typeof shape[0] === 'number' && shape[0] > 0 ? { maxBatch: shape[0] } : {});

function imageInput(io: GraphIo, file: string): { name: string; type: 'float32' | 'float16'; size?: number; maxBatch?: number } {
  const inputs = io.inputs.filter((i) => i.type === 'float32' || i.type === 'float16');
  if (io.inputs.length !== 1 || inputs.length !== 1) throw new ModelInstallError(`${file}: an image tower takes one float input; this one takes ${io.inputs.map((i) => `${i.name}:${i.type}`).join(', ')}`);
  const input = inputs[0]!;
  const h = input.shape[2];
  const w = input.shape[3];
  return { name: input.name, type: input.type as 'float32' | 'float16', ...(typeof h === 'number' && h === w ? { size: h } : {}), ...fixedBatch(input.shape) };
}

function textInputs(io: GraphIo, file: string) {
  const byName = (n: string) => io.inputs.find((i) => i.name === n);
  const ids = byName('input_ids') ?? byName('text') ?? io.inputs.find((i) => i.type === 'int64' || i.type === 'int32');
  if (!ids || (ids.type !== 'int64' && ids.type !== 'int32')) throw new ModelInstallError(`${file}: no token id input among ${io.inputs.map((i) => `${i.name}:${i.type}`).join(', ')}`);
  const mask = byName('attention_mask');
  const tokenTypes = byName('token_type_ids');
  const known = new Set([ids.name, mask?.name, tokenTypes?.name]);
  const unknown = io.inputs.filter((i) => !known.has(i.name));
  if (unknown.length) throw new ModelInstallError(`${file}: text tower input ${unknown.map((i) => i.name).join(', ')} is not one the service can feed`);
  for (const extra of [mask, tokenTypes]) {
    if (extra && extra.type !== ids.type) throw new ModelInstallError(`${file}: ${extra.name} is ${extra.type} but ${ids.name} is ${ids.type}`);
  }
  const len = ids.shape[1];
  return {
    inputs: { ids: ids.name, ...(mask ? { mask: mask.name } : {}), ...(tokenTypes ? { tokenTypes: tokenTypes.name } : {}) },
    idsType: ids.type === 'int32' ? ('int32' as const) : ('int64' as const),
    fixedLength: typeof len === 'number' ? len : undefined,
    ...fixedBatch(ids.shape),
  };
}

const RESAMPLE: Record<number, 'bilinear' | 'bicubic'> = { 2: 'bilinear', 3: 'bicubic' };

/** Hugging Face's preprocessor_config.json (CLIPImageProcessor, ChineseCLIPFeatureExtractor). */
function hfImagePreprocessing(cfg: Json, file: string) {
  if (cfg.do_resize === false) throw new ModelInstallError(`${file}: do_resize is false; the encoder needs a fixed input size`);
  if (cfg.do_normalize === false) throw new ModelInstallError(`${file}: do_normalize is false, which the service does not support`);
  const rescale = cfg.rescale_factor ?? 1 / 255;
  if (cfg.do_rescale !== false && (!isNum(rescale) || Math.abs(rescale - 1 / 255) > 1e-9)) throw new ModelInstallError(`${file}: rescale_factor ${JSON.stringify(rescale)} is not 1/255`);
  const resample = field(file, cfg, 'resample', isNum, 'a Pillow resampling filter');
  const interpolation = RESAMPLE[resample];
  if (!interpolation) throw new ModelInstallError(`${file}: resample ${resample} is not bicubic (3) or bilinear (2)`);
  const mean = field(file, cfg, 'image_mean', isRgb, 'three numbers');
  const std = field(file, cfg, 'image_std', isRgb, 'three numbers');
  const square = (v: unknown, key: string): number => {
    if (isNum(v)) return v;
    if (isObj(v) && isNum(v.height) && v.height === v.width) return v.height;
    if (isObj(v) && isNum(v.shortest_edge)) return v.shortest_edge;
    throw new ModelInstallError(`${file}: field ${key} is ${JSON.stringify(v)}; expected a square size`);
  };
  if (cfg.do_center_crop === true) {
    return { size: square(cfg.crop_size, 'crop_size'), resize: 'cover' as const, interpolation, mean, std };
  }
  const size = cfg.size;
  if (isObj(size) && isNum(size.shortest_edge)) throw new ModelInstallError(`${file}: size gives only shortest_edge without a centre crop, which leaves the image size open`);
  return { size: square(size, 'size'), resize: 'squash' as const, interpolation, mean, std };
}

/** Immich's visual/preprocess_cfg.json (open_clip's preprocessing, written out). */
function immichImagePreprocessing(cfg: Json, file: string) {
  const rawSize = cfg.size;
  const size = isNum(rawSize) ? rawSize : Array.isArray(rawSize) && rawSize.length === 2 && rawSize[0] === rawSize[1] && isNum(rawSize[0]) ? rawSize[0] : undefined;
  if (size === undefined) throw new ModelInstallError(`${file}: field size is ${JSON.stringify(rawSize)}; expected a square size`);
  const interpolation = cfg.interpolation ?? 'bicubic';
  if (interpolation !== 'bicubic' && interpolation !== 'bilinear') throw new ModelInstallError(`${file}: interpolation ${JSON.stringify(interpolation)} is not bicubic or bilinear`);
  const mode = cfg.resize_mode ?? 'shortest';
  if (mode !== 'shortest' && mode !== 'squash') throw new ModelInstallError(`${file}: resize_mode ${JSON.stringify(mode)} is not shortest or squash`);
  return {
    size,
    resize: mode === 'squash' ? ('squash' as const) : ('cover' as const),
    interpolation: interpolation === 'bilinear' ? ('bilinear' as const) : ('bicubic' as const),
    mean: field(file, cfg, 'mean', isRgb, 'three numbers'),
    std: field(file, cfg, 'std', isRgb, 'three numbers'),
  };
}

/** Chinese-CLIP's context length (cn_clip's tokenize, and the reference ids): 52 tokens for every size. */
const CHINESE_CLIP_CONTEXT = 52;

export interface DeriveOptions {
  dir: string;
  plan: InstallPlan;
  name: string;
  version: string;
  description: string;
  source: { repo: string; revision: string; variant: string };
  /** Where cn_clip's vocabulary and preprocessing came from, for messages: "OFA-Sys/… (MODELS_VOCAB_REPO)". */
  companion?: string | undefined;
}

/** The pack's manifest, from the repository's own configuration files and its graphs' signatures. */
export async function manifestFromRepo(opts: DeriveOptions): Promise<ManifestDraft> {
  const { dir, plan } = opts;
  const [imageIo, textIo] = [await readGraphIo(path.join(dir, plan.image)), await readGraphIo(path.join(dir, plan.text))];
  const imageOut = chooseOutput(imageIo, ['image_embeds', 'unnorm_image_features', 'embedding', 'embeddings'], plan.image);
  const textOut = chooseOutput(textIo, ['text_embeds', 'unnorm_text_features', 'embedding', 'embeddings'], plan.text);
  const dim = embeddingDim(imageOut, textOut, plan);
  const pixel = imageInput(imageIo, plan.image);
  const text = textInputs(textIo, plan.text);

  let prep: ReturnType<typeof hfImagePreprocessing>;
  let maxLength: number | undefined = text.fixedLength;
  let tokenizer: { file: string; config?: string; lowercase: boolean };
  let prefix = '';
  // Chinese-CLIP learned from simplified Chinese, and NLLB's zho_Hans says simplified: traditional text is converted.
  let script: 'simplified' | undefined;
  if (plan.layout === 'immich') {
    const config = await readJson(dir, 'config.json');
    const embed = config.embed_dim;
    if (isNum(embed) && embed !== dim) throw new ModelInstallError(`config.json: embed_dim is ${embed} but the graphs produce ${dim}-dimensional embeddings`);
    prep = immichImagePreprocessing(await readJson(dir, 'visual/preprocess_cfg.json'), 'visual/preprocess_cfg.json');
    const textCfg = isObj(config.text_cfg) ? config.text_cfg : {};
    const context = textCfg.context_length ?? 77;
    if (!isNum(context)) throw new ModelInstallError(`config.json: text_cfg.context_length is ${JSON.stringify(context)}`);
    if (maxLength !== undefined && maxLength !== context) throw new ModelInstallError(`config.json: text_cfg.context_length is ${context} but ${plan.text} takes ${maxLength} tokens`);
    maxLength = context;
    const tokCfg = await readJson(dir, 'textual/tokenizer_config.json');
    field('textual/tokenizer_config.json', tokCfg, 'pad_token', (v): v is unknown => v !== undefined, 'the padding token');
    tokenizer = { file: 'textual/tokenizer.json', config: 'textual/tokenizer_config.json', lowercase: tokCfg.do_lower_case === true };
    // As Immich does: NLLB-based text towers read the FLORES-200 language code first.
    if (opts.source.repo.split('/').pop()!.toLowerCase().startsWith('nllb')) [prefix, script] = ['zho_Hans', 'simplified'];
  } else {
    prep = hfImagePreprocessing(await readJson(dir, 'preprocessor_config.json'), 'preprocessor_config.json');
    const hasJson = plan.files.some((f) => f.file.path === 'tokenizer.json');
    const hasVocab = plan.files.some((f) => f.file.path === 'vocab.txt');
    if (!hasJson && !hasVocab) throw new ModelInstallError('the repository has neither tokenizer.json nor vocab.txt');
    const hasConfig = plan.files.some((f) => f.file.path === 'tokenizer_config.json');
    const tokCfg = hasConfig ? await readJson(dir, 'tokenizer_config.json') : {};
    tokenizer = { file: hasJson ? 'tokenizer.json' : 'vocab.txt', ...(hasConfig ? { config: 'tokenizer_config.json' } : {}), lowercase: tokCfg.do_lower_case !== false };
    if (plan.layout !== 'cn-clip') {
      const config = await readJson(dir, 'config.json');
      if (config.model_type === 'chinese_clip') script = 'simplified';
      const projection = config.projection_dim;
      if (isNum(projection) && projection !== dim) throw new ModelInstallError(`config.json: projection_dim is ${projection} but the graphs produce ${dim}-dimensional embeddings`);
      if (maxLength === undefined) {
        const modelMax = tokCfg.model_max_length;
        if (config.model_type === 'chinese_clip') maxLength = CHINESE_CLIP_CONTEXT;
        else if (isNum(modelMax) && modelMax <= 4096) maxLength = modelMax;
      }
    } else {
      script = 'simplified';
      maxLength ??= CHINESE_CLIP_CONTEXT;
    }
    if (maxLength === undefined) throw new ModelInstallError(`${plan.text} takes any number of tokens and neither config.json (model_type) nor tokenizer_config.json (model_max_length) says how many to use`);
  }
  if (pixel.size !== undefined && pixel.size !== prep.size) {
    const borrowed = plan.files.some((f) => f.file.path === 'preprocessor_config.json' && f.companion);
    throw new ModelInstallError(
      borrowed
        ? `${plan.image} takes ${pixel.size}px images but preprocessor_config.json from ${opts.companion ?? 'the vocabulary repository'} says ${prep.size}px: set MODELS_VOCAB_REPO to the Chinese-CLIP repository of this model (e.g. OFA-Sys/chinese-clip-vit-large-patch14-336px for vit-l-14-336)`
        : `${plan.image} takes ${pixel.size}px images but the preprocessing config says ${prep.size}px`,
    );
  }
  return {
    name: opts.name,
    version: opts.version,
    description: opts.description,
    source: { ...opts.source, layout: plan.layout },
    embeddingDim: dim,
    image: { file: plan.image, input: pixel.name, inputType: pixel.type, output: imageOut.name, ...prep, ...(pixel.maxBatch ? { maxBatch: pixel.maxBatch } : {}) },
    text: {
      file: plan.text,
      inputs: text.inputs,
      idsType: text.idsType,
      prefix,
      ...(script ? { script } : {}),
      output: textOut.name,
      maxLength,
      tokenizer,
      ...(text.maxBatch ? { maxBatch: text.maxBatch } : {}),
    },
  };
}
