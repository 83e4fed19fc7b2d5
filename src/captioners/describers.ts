import type * as transformersModule from '@huggingface/transformers';
import type { Tensor } from '@huggingface/transformers';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CaptionUnavailable } from '../search/captions';
import type { CaptionerDtype } from './captionerLayouts';

/** Describes one image file in a sentence. */
export type Describe = (file: string) => Promise<string>;

export interface DescriberOptions {
  dtype: CaptionerDtype;
  maxNewTokens: number;
}

/** What Qwen2-VL is asked: one Chinese sentence, so the caption needs no translation. */
export const VLM_INSTRUCTION = '用一句话描述这张照片。';
/**
 * The side Qwen2-VL sees: 336 px is 24×24 patches, 144 image tokens after the 2×2 merge — the prefill
 * dominates a CPU caption, and a sentence about a photo does not need more.
 */
export const VLM_IMAGE_SIZE = 336;
/** Florence-2's task for a one-sentence caption (its processor turns it into the prompt it was trained on). */
export const FLORENCE_TASK = '<CAPTION>';

type Transformers = typeof transformersModule;
/** What a processor returns: the model's named input tensors. */
type ModelInputs = Record<string, Tensor>;

/** transformers.js, set to open local folders only: a pack never reaches the hub at run time. */
export async function localTransformers(): Promise<Transformers> {
  const t = await import('@huggingface/transformers');
  t.env.allowRemoteModels = false;
  t.env.allowLocalModels = true;
  return t;
}

/** The model type config.json names; the layout decides how the model is driven. */
export async function modelTypeOf(dir: string): Promise<string> {
  try {
    const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as { model_type?: unknown };
    return typeof config.model_type === 'string' ? config.model_type : '(none)';
  } catch (e) {
    // Retried later, not given up: a folder may be mounted or filled after the service starts.
    throw new Error(`could not read the captioning model's config.json in ${dir}: ${(e as Error).message}`, { cause: e });
  }
}

/** A vision encoder-decoder (ViT-GPT2 class): transformers.js' image-to-text pipeline. */
async function encoderDecoder(dir: string, o: DescriberOptions): Promise<Describe> {
  const { pipeline } = await localTransformers();
  const describe = await pipeline('image-to-text', dir, { local_files_only: true, dtype: o.dtype });
  return async (file) => firstText(await describe(file, { max_new_tokens: o.maxNewTokens }), 'generated_text');
}

/** Florence-2: vision encoder, then its BART encoder-decoder over the image and the task prompt. */
async function florence2(dir: string, o: DescriberOptions): Promise<Describe> {
  const { AutoProcessor, Florence2ForConditionalGeneration, RawImage } = await localTransformers();
  const options = { local_files_only: true, dtype: o.dtype };
  const [processor, model] = await Promise.all([AutoProcessor.from_pretrained(dir, options), Florence2ForConditionalGeneration.from_pretrained(dir, options)]);
  return async (file) => {
    const inputs = (await processor(await RawImage.read(file), FLORENCE_TASK)) as ModelInputs;
    const ids = await model.generate({ ...inputs, max_new_tokens: o.maxNewTokens });
    return decoded(processor.batch_decode(ids as never, { skip_special_tokens: true }));
  };
}

/** Qwen2-VL: the chat template with the image and a Chinese instruction; only the new tokens are the caption. */
async function qwen2Vl(dir: string, o: DescriberOptions): Promise<Describe> {
  const { AutoProcessor, Qwen2VLForConditionalGeneration, RawImage } = await localTransformers();
  const options = { local_files_only: true, dtype: o.dtype };
  const [processor, model] = await Promise.all([AutoProcessor.from_pretrained(dir, options), Qwen2VLForConditionalGeneration.from_pretrained(dir, options)]);
  const conversation = [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: VLM_INSTRUCTION }] }];
  const prompt = processor.apply_chat_template(conversation, { add_generation_prompt: true });
  return async (file) => {
    const image = await (await RawImage.read(file)).resize(VLM_IMAGE_SIZE, VLM_IMAGE_SIZE);
    const inputs = (await processor(prompt, image)) as ModelInputs;
    const out = (await model.generate({ ...inputs, max_new_tokens: o.maxNewTokens })) as Tensor;
    const promptLength = inputs.input_ids!.dims.at(-1)!;
    const added = (out.tolist() as bigint[][]).map((row) => row.slice(promptLength).map(Number));
    return decoded(processor.batch_decode(added, { skip_special_tokens: true }));
  };
}

/** How each captioning layout is driven; installCaptioner refuses the types not here. */
export const DESCRIBERS: Record<string, (dir: string, o: DescriberOptions) => Promise<Describe>> = {
  'vision-encoder-decoder': encoderDecoder,
  florence2,
  qwen2_vl: qwen2Vl,
};

/** Loads the captioning model in `dir` the way its layout needs. */
export async function loadDescriber(dir: string, o: DescriberOptions): Promise<Describe> {
  const type = await modelTypeOf(dir);
  const load = DESCRIBERS[type];
  if (!load)
    throw new CaptionUnavailable(`the captioning model at ${dir} is a ${type}, which this service does not run (${Object.keys(DESCRIBERS).join(', ')})`);
  return load(dir, o);
}

function decoded(texts: readonly string[]): string {
  return (texts[0] ?? '').replaceAll('<s>', '').replaceAll('</s>', '').trim();
}

export function firstText(out: unknown, key: 'generated_text' | 'translation_text'): string {
  const first = (Array.isArray(out) ? out[0] : out) as Record<string, unknown> | undefined;
  const text = first?.[key];
  return typeof text === 'string' ? text.trim() : '';
}
