import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as transformers from '@huggingface/transformers';
import { BertTokenizer, PreTrainedTokenizer } from '@huggingface/transformers';

export interface EncodedText {
  /** Row-major [batch, maxLength] token ids. */
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  tokenTypeIds: BigInt64Array;
  batch: number;
  maxLength: number;
}

/** Fixed-length encoding for ONNX text encoders (Chinese-CLIP exports take [N, L]). */
export class TextTokenizer {
  constructor(
    private readonly tokenizer: PreTrainedTokenizer,
    readonly maxLength: number,
  ) {}

  tokenize(text: string): string[] {
    return this.tokenizer.tokenize(text);
  }

  encode(texts: readonly string[]): EncodedText {
    const L = this.maxLength;
    const inputIds = new BigInt64Array(texts.length * L);
    const attentionMask = new BigInt64Array(texts.length * L);
    const tokenTypeIds = new BigInt64Array(texts.length * L);
    const padId = BigInt(this.tokenizer.pad_token_id ?? 0);
    texts.forEach((text, row) => {
      const ids = this.truncate(this.tokenizer.encode(text));
      for (let i = 0; i < L; i++) {
        const has = i < ids.length;
        inputIds[row * L + i] = has ? BigInt(ids[i]!) : padId;
        attentionMask[row * L + i] = has ? 1n : 0n;
      }
    });
    return { inputIds, attentionMask, tokenTypeIds, batch: texts.length, maxLength: L };
  }

  /**
   * Keeps the closing token ([SEP], </s>, <|endoftext|>) when a text is cut, as the reference
   * tokenizers do: Chinese-CLIP's keeps [CLS] + the first L-2 pieces + [SEP].
   */
  private truncate(ids: number[]): number[] {
    if (ids.length <= this.maxLength) return ids;
    const last = ids[ids.length - 1]!;
    const cut = ids.slice(0, this.maxLength);
    if (this.closing.has(last)) cut[this.maxLength - 1] = last;
    return cut;
  }

  private get closing(): Set<number> {
    const t = this.tokenizer as PreTrainedTokenizer & { eos_token_id?: number };
    return new Set([t.sep_token_id, t.eos_token_id].filter((id): id is number => typeof id === 'number'));
  }
}

const SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

/**
 * Chinese-CLIP ships only a BERT `vocab.txt`; transformers.js reads the fast-tokenizer
 * `tokenizer.json` format. This describes the same WordPiece tokenizer in that format,
 * so the tokenisation itself is still done by the library's BertTokenizer.
 */
/** An added token of tokenizer.json that is matched whole, before normalisation, and left out when decoding. */
export function specialToken(id: number, content: string) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

export function bertTokenizerJsonFromVocab(vocabLines: readonly string[], lowercase: boolean) {
  const vocab: Record<string, number> = {};
  vocabLines.forEach((token, id) => {
    if (token.length > 0 && !(token in vocab)) vocab[token] = id;
  });
  for (const t of SPECIAL) {
    if (!(t in vocab)) throw new Error(`vocab.txt lacks the special token ${t}`);
  }
  const special = (t: string) => ({ id: t, ids: [vocab[t]!], tokens: [t] });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL.map((content) => specialToken(vocab[content]!, content)),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: { '[CLS]': special('[CLS]'), '[SEP]': special('[SEP]') },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  };
}

export interface TokenizerFiles {
  /** `tokenizer.json` (fast tokenizer) or `vocab.txt` (BERT WordPiece), relative to the pack. */
  file: string;
  /** Optional `tokenizer_config.json`. */
  config?: string | undefined;
  lowercase: boolean;
  maxLength: number;
}

async function readJson(file: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
}

type TokenizerClass = new (json: unknown, config: unknown) => PreTrainedTokenizer;

/** The transformers.js class tokenizer_config.json names (BertTokenizer, CLIPTokenizer, NllbTokenizer…). */
function tokenizerClass(name: unknown): TokenizerClass {
  const exported = (transformers as unknown as Record<string, unknown>)[typeof name === 'string' ? name.replace(/Fast$/, '') : ''];
  return typeof exported === 'function' && /Tokenizer$/.test(String(name).replace(/Fast$/, '')) ? (exported as TokenizerClass) : PreTrainedTokenizer;
}

export async function loadTokenizer(packDir: string, files: TokenizerFiles): Promise<TextTokenizer> {
  const config = files.config ? await readJson(path.join(packDir, files.config)) : {};
  const source = path.join(packDir, files.file);
  if (source.endsWith('.txt')) {
    const bertConfig = { do_lower_case: files.lowercase, pad_token: '[PAD]', unk_token: '[UNK]', cls_token: '[CLS]', sep_token: '[SEP]', mask_token: '[MASK]', ...config, model_max_length: files.maxLength };
    const json = bertTokenizerJsonFromVocab((await readFile(source, 'utf8')).split(/\r?\n/), files.lowercase);
    return new TextTokenizer(new BertTokenizer(json, bertConfig), files.maxLength);
  }
  const Class = tokenizerClass(config.tokenizer_class ?? 'BertTokenizer');
  return new TextTokenizer(new Class(await readJson(source), { ...config, model_max_length: files.maxLength }), files.maxLength);
}
