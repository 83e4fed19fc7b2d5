/**
 * Writes a tiny English→Chinese translation model in the layout of Xenova/opus-mt-en-zh (Marian:
 * config.json, generation_config.json, tokenizer.json, tokenizer_config.json, onnx/encoder_model.onnx
 * taking input_ids and attention_mask, onnx/decoder_model_merged.onnx taking input_ids,
 * encoder_attention_mask and encoder_hidden_states), so transformers.js' translation pipeline runs it
 * in tests. The encoder marks which colour word the sentence holds; the decoder writes that colour's
 * Chinese caption: "a red picture" → "红色的图片".
 *
 * Usage: tsx scripts/test-pack/makeTranslator.ts [outDir] [dtype suffix, e.g. _quantized]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { onnx } from 'onnx-proto';
import { bertTokenizerJsonFromVocab } from '../../src/models/tokenizer';
import { GraphBuilder, intAttr } from '../lib/onnxGraph';
import { COLOURS } from './concepts';
import { captionFor } from './makeCaptioner';

const F = onnx.TensorProto.DataType.FLOAT;
const I64 = onnx.TensorProto.DataType.INT64;
const SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
const K = COLOURS.length;

function vocabulary(): string[] {
  return [...SPECIAL, 'a', 'picture', ...COLOURS.map((c) => c.key), ...COLOURS.map((c) => captionFor(c.key))];
}

function encoder(vocab: readonly string[]): Uint8Array {
  // Each colour word embeds as its colour's one-hot row; every other token as zeros.
  const table = new Float32Array(vocab.length * K);
  COLOURS.forEach((c, k) => (table[vocab.indexOf(c.key) * K + k] = 1));
  const g = new GraphBuilder('test-translator-encoder');
  const ids = g.input('input_ids', I64, ['batch_size', 'encoder_sequence_length']);
  const mask = g.input('attention_mask', I64, ['batch_size', 'encoder_sequence_length']);
  const embedded = g.op('Gather', [g.floatConst(table, [vocab.length, K]), ids], [intAttr('axis', 0)]);
  const maskF = g.op('Unsqueeze', [g.op('Cast', [mask], [intAttr('to', F)]), g.int64Const([2])]);
  g.op('Mul', [embedded, maskF], [], 'last_hidden_state');
  g.output('last_hidden_state', F, ['batch_size', 'encoder_sequence_length', K]);
  return g.encode();
}

function decoder(vocab: readonly string[]): Uint8Array {
  const V = vocab.length;
  const NEG = -30;
  const outputs = COLOURS.map((c) => vocab.indexOf(captionFor(c.key)));
  const bigram = new Float32Array(V * V).fill(NEG);
  // After the start token any caption may follow (the sentence decides which); after one, the end.
  for (const id of outputs) bigram[2 * V + id] = 0;
  for (let t = 0; t < V; t++) if (t !== 2) bigram[t * V + 3] = 50;
  const colourToToken = new Float32Array(K * V);
  outputs.forEach((id, k) => (colourToToken[k * V + id] = 20));

  const g = new GraphBuilder('test-translator-decoder');
  const ids = g.input('input_ids', I64, ['batch_size', 'decoder_sequence_length']);
  const mask = g.input('encoder_attention_mask', I64, ['batch_size', 'encoder_sequence_length']);
  const hidden = g.input('encoder_hidden_states', F, ['batch_size', 'encoder_sequence_length', K]);
  const maskF = g.op('Unsqueeze', [g.op('Cast', [mask], [intAttr('to', F)]), g.int64Const([2])]);
  const pooled = g.op('ReduceSum', [g.op('Mul', [hidden, maskF]), g.int64Const([1])], [intAttr('keepdims', 1)]);
  const next = g.op('Gather', [g.floatConst(bigram, [V, V]), ids], [intAttr('axis', 0)]);
  g.op('Add', [next, g.op('MatMul', [pooled, g.floatConst(colourToToken, [K, V])])], [], 'logits');
  g.output('logits', F, ['batch_size', 'decoder_sequence_length', V]);
  return g.encode();
}

/** `suffix`: the dtype's file suffix transformers.js asks for (fp32 '', q8 '_quantized', fp16 '_fp16'). */
export async function makeTestTranslator(outDir: string, suffix = ''): Promise<void> {
  const vocab = vocabulary();
  await mkdir(path.join(outDir, 'onnx'), { recursive: true });
  await writeFile(path.join(outDir, 'onnx', `encoder_model${suffix}.onnx`), encoder(vocab));
  await writeFile(path.join(outDir, 'onnx', `decoder_model_merged${suffix}.onnx`), decoder(vocab));
  const special = { decoder_start_token_id: 2, bos_token_id: 2, eos_token_id: 3, pad_token_id: 0 };
  const json = (f: string, v: unknown) => writeFile(path.join(outDir, f), `${JSON.stringify(v, null, 2)}\n`);
  await json('config.json', {
    model_type: 'marian',
    architectures: ['MarianMTModel'],
    is_encoder_decoder: true,
    vocab_size: vocab.length,
    d_model: K,
    encoder_layers: 1,
    decoder_layers: 1,
    encoder_attention_heads: 1,
    decoder_attention_heads: 1,
    max_length: 8,
    ...special,
  });
  await json('generation_config.json', { ...special, max_length: 8, num_beams: 1 });
  await json('tokenizer.json', bertTokenizerJsonFromVocab(vocab, true));
  await json('tokenizer_config.json', {
    tokenizer_class: 'MarianTokenizer',
    pad_token: '[PAD]',
    unk_token: '[UNK]',
    eos_token: '[SEP]',
    source_lang: 'en',
    target_lang: 'zh',
    model_max_length: 16,
  });
}

if (require.main === module) {
  const out = path.resolve(process.argv[2] ?? 'models/test-translator');
  makeTestTranslator(out, process.argv[3] ?? '')
    .then(() => console.log(`wrote the test translator to ${out}`))
    .catch((e: unknown) => {
      console.error(e);
      process.exit(1);
    });
}
