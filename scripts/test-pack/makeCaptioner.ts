/**
 * Writes a tiny captioning model in transformers.js' vision-encoder-decoder layout
 * (config.json, generation_config.json, preprocessor_config.json, tokenizer.json,
 * onnx/encoder_model.onnx, onnx/decoder_model_merged.onnx), so the generative captioner runs a
 * real image-to-text pipeline in tests. The encoder emits the image's colour-concept weights;
 * the decoder is a bigram model biased by them: [CLS] -> "<colour>色的图片" -> [SEP] (or, in English
 * for the caption-then-translate packs, "a <colour> picture").
 *
 * Usage: tsx scripts/test-pack/makeCaptioner.ts [outDir]   (default models/test-captioner)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { onnx } from 'onnx-proto';
import { bertTokenizerJsonFromVocab } from '../../src/models/tokenizer';
import { GraphBuilder, intAttr } from '../lib/onnxGraph';
import { COLOURS } from './concepts';
import { colourWeights, IMAGE_SIZE, MEAN, STD } from './make';

const F = onnx.TensorProto.DataType.FLOAT;
const I64 = onnx.TensorProto.DataType.INT64;
const [PAD, UNK, CLS, SEP, MASK] = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
const K = COLOURS.length;

export const captionFor = (colourKey: string) => `${COLOURS.find((c) => c.key === colourKey)!.words[0]}色的图片`;
export const englishCaptionFor = (colourKey: string) => `a ${colourKey} picture`;

export type CaptionLanguage = 'zh' | 'en';

function vocabulary(language: CaptionLanguage): string[] {
  return [PAD, UNK, CLS, SEP, MASK, ...COLOURS.map((c) => (language === 'zh' ? captionFor(c.key) : englishCaptionFor(c.key)))];
}

function encoder(): Uint8Array {
  const g = new GraphBuilder('test-captioner-encoder');
  const pixels = g.input('pixel_values', F, ['batch', 3, IMAGE_SIZE, IMAGE_SIZE]);
  const { weights } = colourWeights(g, pixels, MEAN, STD);
  g.op('Unsqueeze', [weights, g.int64Const([1])], [], 'last_hidden_state');
  g.output('last_hidden_state', F, ['batch', 1, K]);
  return g.encode();
}

function decoder(vocabSize: number): Uint8Array {
  const NEG = -30;
  const bigram = new Float32Array(vocabSize * vocabSize).fill(NEG);
  const captionIds = COLOURS.map((_, k) => 5 + k);
  // After [CLS], any caption token may follow (the image decides which); after a caption, [SEP].
  for (const id of captionIds) bigram[2 * vocabSize + id] = 0;
  for (const id of captionIds) bigram[id * vocabSize + 3] = 50;
  for (let t = 0; t < vocabSize; t++) if (t !== 2 && !captionIds.includes(t)) bigram[t * vocabSize + 3] = 50;
  const imageToToken = new Float32Array(K * vocabSize);
  captionIds.forEach((id, k) => (imageToToken[k * vocabSize + id] = 20));

  const g = new GraphBuilder('test-captioner-decoder');
  const ids = g.input('input_ids', I64, ['batch', 'sequence']);
  const hidden = g.input('encoder_hidden_states', F, ['batch', 1, K]);
  const next = g.op('Gather', [g.floatConst(bigram, [vocabSize, vocabSize]), ids], [intAttr('axis', 0)]);
  const bias = g.op('MatMul', [hidden, g.floatConst(imageToToken, [K, vocabSize])]);
  g.op('Add', [next, bias], [], 'logits');
  g.output('logits', F, ['batch', 'sequence', vocabSize]);
  return g.encode();
}

/** `suffix`: the dtype's file suffix transformers.js asks for (fp32 '', q8 '_quantized', fp16 '_fp16'). */
export async function makeTestCaptioner(outDir: string, language: CaptionLanguage = 'zh', suffix = ''): Promise<void> {
  const vocab = vocabulary(language);
  await mkdir(path.join(outDir, 'onnx'), { recursive: true });
  await writeFile(path.join(outDir, 'onnx', `encoder_model${suffix}.onnx`), encoder());
  await writeFile(path.join(outDir, 'onnx', `decoder_model_merged${suffix}.onnx`), decoder(vocab.length));
  const special = { decoder_start_token_id: 2, bos_token_id: 2, eos_token_id: 3, pad_token_id: 0 };
  const json = (f: string, v: unknown) => writeFile(path.join(outDir, f), `${JSON.stringify(v, null, 2)}\n`);
  await json('config.json', {
    model_type: 'vision-encoder-decoder',
    architectures: ['VisionEncoderDecoderModel'],
    is_encoder_decoder: true,
    encoder: { model_type: 'vit', hidden_size: K, image_size: IMAGE_SIZE, num_channels: 3 },
    decoder: { model_type: 'gpt2', vocab_size: vocab.length, n_embd: K, n_head: 1, n_layer: 1, add_cross_attention: true, ...special },
    ...special,
  });
  await json('generation_config.json', { ...special, max_length: 8 });
  await json('preprocessor_config.json', {
    image_processor_type: 'ViTImageProcessor',
    do_resize: true,
    size: { height: IMAGE_SIZE, width: IMAGE_SIZE },
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: [...MEAN],
    image_std: [...STD],
  });
  await json('tokenizer.json', bertTokenizerJsonFromVocab(vocab, false));
  await json('tokenizer_config.json', {
    tokenizer_class: 'BertTokenizer',
    pad_token: PAD,
    unk_token: UNK,
    cls_token: CLS,
    sep_token: SEP,
    mask_token: MASK,
    model_max_length: 8,
  });
}

if (require.main === module) {
  const out = path.resolve(process.argv[2] ?? 'models/test-captioner');
  makeTestCaptioner(out)
    .then(() => console.log(`wrote the test captioner to ${out}`))
    .catch((e: unknown) => {
      console.error(e);
      process.exit(1);
    });
}
