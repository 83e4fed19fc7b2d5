import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bertTokenizerJsonFromVocab, loadTokenizer } from '../../src/models/tokenizer';
import { tempDir } from '../helpers/env';

const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', '红', '色', '的', '花', 'red', 'car', '##s'];

async function packWithVocab(): Promise<string> {
  const dir = await tempDir('tok');
  await writeFile(path.join(dir, 'vocab.txt'), VOCAB.join('\n'));
  await writeFile(path.join(dir, 'tokenizer.json'), JSON.stringify(bertTokenizerJsonFromVocab(VOCAB, true)));
  return dir;
}

describe('tokenizer', () => {
  test('splits Chinese into characters, lowercases, and uses WordPiece for the rest', async () => {
    const tok = await loadTokenizer(await packWithVocab(), { file: 'vocab.txt', lowercase: true, maxLength: 16 });
    expect(tok.tokenize('红色的花 RED Cars 蓝')).toEqual(['红', '色', '的', '花', 'red', 'car', '##s', '[UNK]']);
  });

  test('pads to a fixed length with a matching attention mask', async () => {
    const tok = await loadTokenizer(await packWithVocab(), { file: 'vocab.txt', lowercase: true, maxLength: 8 });
    const enc = tok.encode(['红花', 'red car']);
    expect(Array.from(enc.inputIds, Number)).toEqual([2, 5, 8, 3, 0, 0, 0, 0, 2, 9, 10, 3, 0, 0, 0, 0]);
    expect(Array.from(enc.attentionMask, Number)).toEqual([1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0]);
    expect(Array.from(enc.tokenTypeIds, Number).every((x) => x === 0)).toBe(true);
  });

  test('truncates long text but keeps the closing [SEP]', async () => {
    const tok = await loadTokenizer(await packWithVocab(), { file: 'vocab.txt', lowercase: true, maxLength: 5 });
    const enc = tok.encode(['红色的花红色的花']);
    expect(Array.from(enc.inputIds, Number)).toEqual([2, 5, 6, 7, 3]);
  });

  test('vocab.txt and tokenizer.json describe the same tokenizer', async () => {
    const dir = await packWithVocab();
    const a = await loadTokenizer(dir, { file: 'vocab.txt', lowercase: true, maxLength: 12 });
    const b = await loadTokenizer(dir, { file: 'tokenizer.json', lowercase: true, maxLength: 12 });
    const text = ['红色的花 and RED cars'];
    expect(Array.from(b.encode(text).inputIds)).toEqual(Array.from(a.encode(text).inputIds));
  });

  test('a vocab without the BERT special tokens is refused', () => {
    expect(() => bertTokenizerJsonFromVocab(['a', 'b'], true)).toThrow(/special token/);
  });
});
