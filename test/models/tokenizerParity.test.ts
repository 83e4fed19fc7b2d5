import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadTokenizer } from '../../src/models/tokenizer';

/** Chinese-CLIP's own tokenizer (cn_clip.clip.tokenize, context 52) on 303 texts, from ../shared/reference. */
const SHARED = path.resolve(__dirname, '../../../shared/reference');
const PACK = path.join(SHARED, 'chinese-clip-vit-base-patch16');

interface Reference {
  text: string;
  ids: number[];
}

describe('tokenizer parity with Chinese-CLIP', () => {
  let reference: Reference[];
  beforeAll(async () => {
    reference = JSON.parse(await readFile(path.join(SHARED, 'chinese-clip-tokenizer/reference-ids.json'), 'utf8')) as Reference[];
  });

  test.each([
    ['vocab.txt', undefined],
    ['tokenizer.json', 'tokenizer_config.json'],
  ])('ids through %s equal the reference ids on every text', async (file, config) => {
    const tokenizer = await loadTokenizer(PACK, { file, config, lowercase: true, maxLength: 52 });
    expect(reference.length).toBe(303);
    const enc = tokenizer.encode(reference.map((r) => r.text));
    const mismatches = reference.filter((r, row) => Array.from(enc.inputIds.subarray(row * 52, (row + 1) * 52), Number).join() !== r.ids.join());
    expect(mismatches.map((m) => m.text)).toEqual([]);
    // The attention mask marks exactly the non-padding positions.
    reference.forEach((r, row) => {
      expect(Array.from(enc.attentionMask.subarray(row * 52, (row + 1) * 52), Number)).toEqual(r.ids.map((id) => (id === 0 ? 0 : 1)));
    });
  });
});
