/**
 * Writes tiny captioners in the two image-text-to-text layouts the hub publishes, so transformers.js
 * drives them end to end in tests exactly as it drives the real ones:
 * - Florence-2 (onnx-community/Florence-2-base-ft): onnx/vision_encoder, embed_tokens, encoder_model and
 *   decoder_model_merged (inputs_embeds, encoder_hidden_states, encoder_attention_mask → logits), a
 *   preprocessor naming Florence2Processor with its task prompts. It writes English ("a red picture").
 * - Qwen2-VL (onnx-community/Qwen2-VL-2B-Instruct): onnx/vision_encoder (flattened 14 px patches and
 *   grid_thw → one feature per 2×2 merge), embed_tokens, decoder_model_merged (inputs_embeds,
 *   attention_mask, 3-row position_ids, past_key_values → logits, present), a chat template and the
 *   Qwen2-VL image processor.
 *   It writes Chinese (红色的图片) and stops at <|im_end|>.
 * Tokens embed as one-hot rows and image features as the image's colour weights beside them, so the
 * decoder is a bigram table biased by the colour: the caption depends on the pixels, as a real one does.
 *
 * Usage: tsx scripts/test-pack/makeVlm.ts florence2|qwen2-vl [outDir]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { onnx } from 'onnx-proto';
import { bertTokenizerJsonFromVocab, specialToken } from '../../src/models/tokenizer';
import { GraphBuilder, intAttr, intsAttr } from '../lib/onnxGraph';
import { COLOURS } from './concepts';
import { colourWeights, IMAGE_SIZE, MEAN, STD } from './make';
import { captionFor, englishCaptionFor } from './makeCaptioner';

const F = onnx.TensorProto.DataType.FLOAT;
const I64 = onnx.TensorProto.DataType.INT64;
const K = COLOURS.length;
const BERT_SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
const NEG = -30;

/** The layout's vocabulary: ids, the captions it can write, and the tokens after which it stops. */
interface Vocab {
  tokens: string[];
  captions: number[];
  eos: number;
}

/** input_ids → inputs_embeds: one-hot in the first V dimensions, zeros in the K colour dimensions. */
function embedTokens(v: Vocab, name: string): Uint8Array {
  const V = v.tokens.length;
  const table = new Float32Array(V * (V + K));
  for (let t = 0; t < V; t++) table[t * (V + K) + t] = 1;
  const g = new GraphBuilder(name);
  const ids = g.input('input_ids', I64, ['batch_size', 'sequence_length']);
  g.op('Gather', [g.floatConst(table, [V, V + K]), ids], [intAttr('axis', 0)], 'inputs_embeds');
  g.output('inputs_embeds', F, ['batch_size', 'sequence_length', V + K]);
  return g.encode();
}

/** Colour weights [n, K] → features [n, V + K] in the colour dimensions. */
function toFeatures(g: GraphBuilder, weights: string, V: number): string {
  const place = new Float32Array(K * (V + K));
  for (let k = 0; k < K; k++) place[k * (V + K) + V + k] = 1;
  return g.op('MatMul', [weights, g.floatConst(place, [K, V + K])]);
}

/**
 * Logits from the sequence's embeddings: the last token's bigram row (any caption after a prompt token,
 * the end after a caption), plus the colour the sequence holds pushing its own caption up.
 */
function logits(g: GraphBuilder, embeds: string, context: string, v: Vocab): string {
  const V = v.tokens.length;
  const bigram = new Float32Array((V + K) * V).fill(0);
  for (let t = 0; t < V; t++)
    for (let u = 0; u < V; u++) bigram[t * V + u] = v.captions.includes(t) ? (u === v.eos ? 50 : NEG) : v.captions.includes(u) ? 0 : NEG;
  const colourToCaption = new Float32Array((V + K) * V);
  v.captions.forEach((id, k) => (colourToCaption[(V + k) * V + id] = 20));
  const pooled = g.op('ReduceMean', [context], [intsAttr('axes', [1]), intAttr('keepdims', 1)]);
  return g.op('Add', [g.op('MatMul', [embeds, g.floatConst(bigram, [V + K, V])]), g.op('MatMul', [pooled, g.floatConst(colourToCaption, [V + K, V])])]);
}

const masked = (g: GraphBuilder, x: string, mask: string) => g.op('Mul', [x, g.op('Unsqueeze', [g.op('Cast', [mask], [intAttr('to', F)]), g.int64Const([2])])]);

/** Writes a layout's graphs as transformers.js names them: onnx/<name><dtype suffix>.onnx. */
async function graphWriter(outDir: string, suffix: string): Promise<(name: string, bytes: Uint8Array) => Promise<void>> {
  await mkdir(path.join(outDir, 'onnx'), { recursive: true });
  return (name, bytes) => writeFile(path.join(outDir, 'onnx', `${name}${suffix}.onnx`), bytes);
}

const json = (dir: string, f: string, v: unknown) => writeFile(path.join(dir, f), `${JSON.stringify(v, null, 2)}\n`);

function florenceVocab(): Vocab {
  const tokens = [...BERT_SPECIAL, 'what', 'does', 'the', 'image', 'describe', '?', ...COLOURS.map((c) => englishCaptionFor(c.key))];
  return { tokens, captions: COLOURS.map((c) => tokens.indexOf(englishCaptionFor(c.key))), eos: 3 };
}

/** `suffix`: the dtype's file suffix transformers.js asks for (fp32 '', q8 '_quantized', q4 '_q4'). */
export async function makeTestFlorence2(outDir: string, suffix = ''): Promise<void> {
  const v = florenceVocab();
  const V = v.tokens.length;
  const graph = await graphWriter(outDir, suffix);

  const vision = new GraphBuilder('test-florence2-vision');
  const pixels = vision.input('pixel_values', F, ['batch_size', 3, IMAGE_SIZE, IMAGE_SIZE]);
  const { weights } = colourWeights(vision, pixels, MEAN, STD);
  vision.op('Unsqueeze', [toFeatures(vision, weights, V), vision.int64Const([1])], [], 'image_features');
  vision.output('image_features', F, ['batch_size', 1, V + K]);

  const encoder = new GraphBuilder('test-florence2-encoder');
  const embeds = encoder.input('inputs_embeds', F, ['batch_size', 'encoder_sequence_length', V + K]);
  const mask = encoder.input('attention_mask', I64, ['batch_size', 'encoder_sequence_length']);
  encoder.op('Identity', [masked(encoder, embeds, mask)], [], 'last_hidden_state');
  encoder.output('last_hidden_state', F, ['batch_size', 'encoder_sequence_length', V + K]);

  const decoder = new GraphBuilder('test-florence2-decoder');
  const encoderMask = decoder.input('encoder_attention_mask', I64, ['batch_size', 'encoder_sequence_length']);
  const hidden = decoder.input('encoder_hidden_states', F, ['batch_size', 'encoder_sequence_length', V + K]);
  const decoderEmbeds = decoder.input('inputs_embeds', F, ['batch_size', 'decoder_sequence_length', V + K]);
  decoder.op('Identity', [logits(decoder, decoderEmbeds, masked(decoder, hidden, encoderMask), v)], [], 'logits');
  decoder.output('logits', F, ['batch_size', 'decoder_sequence_length', V]);

  await graph('vision_encoder', vision.encode());
  await graph('embed_tokens', embedTokens(v, 'test-florence2-embed'));
  await graph('encoder_model', encoder.encode());
  await graph('decoder_model_merged', decoder.encode());

  const special = { bos_token_id: 2, eos_token_id: 3, pad_token_id: 0, decoder_start_token_id: 2 };
  const text = { model_type: 'florence2_language', vocab_size: V, d_model: V + K, encoder_layers: 1, decoder_layers: 1 };
  await json(outDir, 'config.json', {
    model_type: 'florence2',
    architectures: ['Florence2ForConditionalGeneration'],
    is_encoder_decoder: true,
    text_config: { ...text, encoder_attention_heads: 1, decoder_attention_heads: 1, ...special },
    vision_config: { model_type: 'davit', projection_dim: V + K },
    vocab_size: V,
    ...special,
  });
  await json(outDir, 'generation_config.json', { ...special, max_length: 8, num_beams: 1 });
  await json(outDir, 'preprocessor_config.json', {
    processor_class: 'Florence2Processor',
    image_processor_type: 'CLIPImageProcessor',
    do_resize: true,
    size: { height: IMAGE_SIZE, width: IMAGE_SIZE },
    do_center_crop: false,
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: [...MEAN],
    image_std: [...STD],
    image_seq_length: 1,
    tasks_answer_post_processing_type: { '<CAPTION>': 'pure_text', '<OCR>': 'pure_text' },
    task_prompts_without_inputs: { '<CAPTION>': 'What does the image describe?', '<OCR>': 'What is the text in the image?' },
    task_prompts_with_input: {},
  });
  await json(outDir, 'tokenizer.json', bertTokenizerJsonFromVocab(v.tokens, true));
  await json(outDir, 'tokenizer_config.json', {
    tokenizer_class: 'BertTokenizer',
    pad_token: '[PAD]',
    unk_token: '[UNK]',
    cls_token: '[CLS]',
    sep_token: '[SEP]',
    mask_token: '[MASK]',
    model_max_length: 32,
  });
}

const QWEN_SPECIAL = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|vision_start|>', '<|vision_end|>', '<|image_pad|>', '<|video_pad|>'];
const PATCH = 14;
const TEMPORAL = 2;
const MERGE = 2;

/** Qwen2-VL's chat template, as its chat_template.json has it (images and text of each turn in order). */
export const QWEN_CHAT_TEMPLATE =
  "{% for message in messages %}<|im_start|>{{ message['role'] }}\n" +
  "{% for content in message['content'] %}{% if content['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>" +
  "{% elif content['type'] == 'text' %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endfor %}" +
  '{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}';

function qwenVocab(): Vocab {
  const tokens = [...BERT_SPECIAL, ...QWEN_SPECIAL, 'user', 'assistant', ...COLOURS.map((c) => captionFor(c.key))];
  return { tokens, captions: COLOURS.map((c) => tokens.indexOf(captionFor(c.key))), eos: tokens.indexOf('<|im_end|>') };
}

/** Qwen's tokenizer has no [CLS]/[SEP] around a sequence, and its chat tokens are special. */
function qwenTokenizer(v: Vocab) {
  const base = bertTokenizerJsonFromVocab(v.tokens, true);
  const added = QWEN_SPECIAL.map((content) => specialToken(v.tokens.indexOf(content), content));
  return { ...base, added_tokens: [...base.added_tokens, ...added], post_processor: null };
}

export async function makeTestQwen2Vl(outDir: string, suffix = ''): Promise<void> {
  const v = qwenVocab();
  const V = v.tokens.length;
  const graph = await graphWriter(outDir, suffix);

  // Patches arrive flattened as [n, channel × temporal × 14 × 14]; each run of MERGE² rows is one image token.
  const vision = new GraphBuilder('test-qwen2vl-vision');
  const patches = vision.input('pixel_values', F, ['num_patches', 3 * TEMPORAL * PATCH * PATCH]);
  const grid = vision.input('grid_thw', I64, ['num_images', 3]);
  const perChannel = vision.op('Reshape', [patches, vision.int64Const([-1, 3, TEMPORAL, PATCH * PATCH])]);
  const { weights } = colourWeights(vision, perChannel, MEAN, STD);
  const merged = vision.op(
    'ReduceMean',
    [vision.op('Reshape', [weights, vision.int64Const([-1, MERGE * MERGE, K])])],
    [intsAttr('axes', [1]), intAttr('keepdims', 0)],
  );
  // grid_thw is read as the real encoder reads it (its rotary positions); here it only has to be consumed.
  const gridZero = vision.op('Mul', [
    vision.op('Cast', [vision.op('ReduceSum', [grid], [intAttr('keepdims', 0)])], [intAttr('to', F)]),
    vision.floatConst([0], [1]),
  ]);
  vision.op('Add', [toFeatures(vision, merged, V), gridZero], [], 'image_features');
  vision.output('image_features', F, ['num_image_tokens', V + K]);

  // The real decoder's cache, one layer of one head as wide as the embeddings: the cache holds every token
  // (image features included) the generation has seen, and its sum is the colour the caption follows.
  const decoder = new GraphBuilder('test-qwen2vl-decoder');
  const embeds = decoder.input('inputs_embeds', F, ['batch_size', 'sequence_length', V + K]);
  const mask = decoder.input('attention_mask', I64, ['batch_size', 'total_sequence_length']);
  const positions = decoder.input('position_ids', I64, [3, 'batch_size', 'sequence_length']);
  const cache = ['key', 'value'].map((kv) => {
    const past = decoder.input(`past_key_values.0.${kv}`, F, ['batch_size', 1, 'past_sequence_length', V + K]);
    decoder.op('Concat', [past, decoder.op('Unsqueeze', [embeds, decoder.int64Const([1])])], [intAttr('axis', 2)], `present.0.${kv}`);
    decoder.output(`present.0.${kv}`, F, ['batch_size', 1, 'total_sequence_length', V + K]);
    return `present.0.${kv}`;
  });
  const context = decoder.op('Squeeze', [cache[0]!, decoder.int64Const([1])]);
  // The mask and the rotary positions are read as the real decoder reads them; here they only have to be consumed.
  const unused = decoder.op('Add', [decoder.op('ReduceMax', [positions], [intAttr('keepdims', 0)]), decoder.op('ReduceMax', [mask], [intAttr('keepdims', 0)])]);
  const zero = decoder.op('Mul', [decoder.op('Cast', [unused], [intAttr('to', F)]), decoder.floatConst([0], [1])]);
  decoder.op('Add', [logits(decoder, embeds, context, v), zero], [], 'logits');
  decoder.output('logits', F, ['batch_size', 'sequence_length', V]);

  await graph('vision_encoder', vision.encode());
  await graph('embed_tokens', embedTokens(v, 'test-qwen2vl-embed'));
  await graph('decoder_model_merged', decoder.encode());

  const id = (t: string) => v.tokens.indexOf(t);
  const special = { bos_token_id: id('<|endoftext|>'), eos_token_id: v.eos, pad_token_id: id('<|endoftext|>') };
  await json(outDir, 'config.json', {
    model_type: 'qwen2_vl',
    architectures: ['Qwen2VLForConditionalGeneration'],
    vocab_size: V,
    hidden_size: V + K,
    num_hidden_layers: 1,
    num_attention_heads: 1,
    num_key_value_heads: 1,
    image_token_id: id('<|image_pad|>'),
    video_token_id: id('<|video_pad|>'),
    vision_start_token_id: id('<|vision_start|>'),
    vision_end_token_id: id('<|vision_end|>'),
    vision_config: { spatial_merge_size: MERGE, patch_size: PATCH, temporal_patch_size: TEMPORAL },
    rope_scaling: { type: 'mrope', mrope_section: [1, 1, 1] },
    ...special,
  });
  await json(outDir, 'generation_config.json', { ...special, max_length: 512, do_sample: false });
  await json(outDir, 'preprocessor_config.json', {
    processor_class: 'Qwen2VLProcessor',
    image_processor_type: 'Qwen2VLImageProcessor',
    do_resize: true,
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    do_convert_rgb: true,
    image_mean: [...MEAN],
    image_std: [...STD],
    min_pixels: 56 * 56,
    max_pixels: 28 * 28 * 1280,
    patch_size: PATCH,
    temporal_patch_size: TEMPORAL,
    merge_size: MERGE,
    resample: 3,
  });
  await json(outDir, 'chat_template.json', { chat_template: QWEN_CHAT_TEMPLATE });
  await json(outDir, 'tokenizer.json', qwenTokenizer(v));
  await json(outDir, 'tokenizer_config.json', {
    tokenizer_class: 'Qwen2Tokenizer',
    chat_template: QWEN_CHAT_TEMPLATE,
    eos_token: '<|im_end|>',
    pad_token: '<|endoftext|>',
    unk_token: '[UNK]',
    model_max_length: 32768,
  });
}

if (require.main === module) {
  const [layout, out] = process.argv.slice(2);
  const make = layout === 'florence2' ? makeTestFlorence2 : layout === 'qwen2-vl' ? makeTestQwen2Vl : null;
  if (!make) {
    console.error('usage: tsx scripts/test-pack/makeVlm.ts florence2|qwen2-vl [outDir]');
    process.exit(2);
  }
  const dir = path.resolve(out ?? `models/test-${layout}`);
  make(dir)
    .then(() => console.log(`wrote the test ${layout} captioner to ${dir}`))
    .catch((e: unknown) => {
      console.error(e);
      process.exit(1);
    });
}
