import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { COLOURS } from '../../scripts/test-pack/concepts';
import { loadModelPack, type ModelPack, type ModelPackOptions } from '../../src/models/modelPack';
import { ModelPackError } from '../../src/models/manifest';
import { toPixelTensor } from '../../src/models/preprocess';
import { dot } from '../../src/models/vectorMath';
import { tempDir, testEnv } from '../helpers/env';
import { colourImage } from '../helpers/images';
import { editedTestPack } from '../helpers/testPack';

const OPTS: ModelPackOptions = { batchSize: 3, intraOpThreads: 1, interOpThreads: 1, maxConcurrentRuns: 2, verifyChecksums: true };

describe('model pack', () => {
  let pack: ModelPack;
  beforeAll(async () => {
    pack = await loadModelPack(testEnv('TEST_MODEL_DIR'), OPTS);
  });
  afterAll(() => pack.close());

  test('reports its identity and dimension', () => {
    expect(pack.key).toBe('test-pack@1');
    expect(pack.image.dim).toBe(64);
    expect(pack.text.dim).toBe(64);
  });

  test('encoders return unit vectors, the same in a batch as alone', async () => {
    const texts = ['红色的花', 'a blue car', '', '黑夜', '绿色的草地'];
    const batched = await pack.text.encode(texts);
    const single = await pack.text.encode([texts[3]!]);
    expect(batched).toHaveLength(5);
    for (const v of batched) expect(Math.sqrt(dot(v, v))).toBeCloseTo(1, 5);
    expect(Array.from(single[0]!)).toEqual(Array.from(batched[3]!).map((x) => expect.closeTo(x, 5)));
  });

  test('each colour word is closest to the image of that colour', async () => {
    const images = await Promise.all(COLOURS.map(async (c) => toPixelTensor(sharp(await colourImage(c.key)), pack.image.preprocessing)));
    const imageVecs = await pack.image.encode(images);
    const textVecs = await pack.text.encode(COLOURS.map((c) => `一张${c.words[0]}色的照片`));
    textVecs.forEach((t, i) => {
      const scores = imageVecs.map((v) => dot(v, t));
      expect(scores.indexOf(Math.max(...scores))).toBe(i);
    });
  });

  test("traditional characters are read in the pack's script: 紅色 is 红色 to a simplified tower, [UNK] to one without a script", async () => {
    const [traditional, simplified] = await pack.text.encode(['紅色的花', '红色的花']);
    expect(Array.from(traditional!)).toEqual(Array.from(simplified!).map((x) => expect.closeTo(x, 6)));
    const dir = await editedTestPack((m) => {
      delete m.text.script;
    });
    const asTyped = await loadModelPack(dir, OPTS);
    try {
      const [t, s] = await asTyped.text.encode(['紅色的花', '红色的花']);
      expect(dot(t!, s!)).toBeLessThan(0.99);
    } finally {
      await asTyped.close();
    }
  });

  test('a pack with a changed file is refused', async () => {
    const dir = await tempDir('pack');
    await cp(testEnv('TEST_MODEL_DIR'), dir, { recursive: true });
    await writeFile(path.join(dir, 'vocab.txt'), `${await readFile(path.join(dir, 'vocab.txt'), 'utf8')}extra\n`);
    await expect(loadModelPack(dir, OPTS)).rejects.toThrow(/sha256 mismatch for vocab.txt/);
  });

  test('an invalid manifest is refused with the reason', async () => {
    const dir = await editedTestPack((m) => ({ ...m, embeddingDim: -1 }));
    await expect(loadModelPack(dir, OPTS)).rejects.toThrow(ModelPackError);
    await expect(loadModelPack(path.join(dir, 'missing'), OPTS)).rejects.toThrow(/cannot read/);
  });

  test('an encoder whose declared inputs are missing is refused', async () => {
    const dir = await editedTestPack((m) => {
      m.image.input = 'image';
    });
    await expect(loadModelPack(dir, OPTS)).rejects.toThrow(/no input image/);
  });
});
