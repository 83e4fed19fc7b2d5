import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { CHINESE_CLIP_PREP, denseTextImage, smoothPhoto } from '../../bench/fixtures';
import { DEFAULT_DECODE_LIMITS, decodeImage } from '../../src/images/decode';
import { tempDir } from '../helpers/env';

/** Debian's python3 with python3-pil and python3-numpy (.ci/run installs them). */
const PYTHON = process.env.REFERENCE_PYTHON ?? '/usr/bin/python3';

const photo = (width: number, height: number, seed: number) => smoothPhoto(width, height, seed).png().toBuffer();

/** `fullScale`: decoded at full size (too small to shrink on load), so only the resampling could differ. */
const CASES: { name: string; make: () => Promise<Buffer>; jpeg?: boolean; fullScale?: boolean }[] = [
  { name: 'photo-50x50', make: () => photo(50, 50, 1), fullScale: true },
  { name: 'photo-100x60', make: () => photo(100, 60, 2), fullScale: true },
  { name: 'text-160x300', make: () => denseTextImage(160, 300), fullScale: true },
  { name: 'text-300x200', make: () => denseTextImage(300, 200), fullScale: true },
  { name: 'photo-224x224', make: () => photo(224, 224, 3), fullScale: true },
  { name: 'photo-800x800', make: () => photo(800, 800, 4), jpeg: true, fullScale: true },
  { name: 'text-600x1000', make: () => denseTextImage(600, 1000), fullScale: true },
  { name: 'text-1600x1200', make: () => denseTextImage(1600, 1200), jpeg: true },
  { name: 'photo-1600x1200', make: () => photo(1600, 1200, 5), jpeg: true },
  { name: 'text-4000x3000', make: () => denseTextImage(4000, 3000), jpeg: true },
];

describe('image preprocessing parity with the reference transform', () => {
  const results: { name: string; oversample: number; mean: number; max: number }[] = [];
  let files: { name: string; file: string }[];

  beforeAll(async () => {
    const dir = await tempDir('parity');
    files = [];
    for (const c of CASES) {
      const png = await c.make();
      const data = c.jpeg ? await sharp(png).jpeg({ quality: 92 }).toBuffer() : png;
      const file = path.join(dir, `${c.name}.${c.jpeg ? 'jpg' : 'png'}`);
      await writeFile(file, data);
      files.push({ name: c.name, file });
    }
    await promisify(execFile)(PYTHON, [path.join(__dirname, '../helpers/pilReference.py'), '224', ...files.map((f) => f.file)]);
  }, 120_000);

  afterAll(() => {
    console.log(results.map((r) => `${r.name} (oversample ${r.oversample}): mean ${r.mean.toFixed(4)} max ${r.max.toPrecision(3)}`).join('\n'));
  });

  async function difference(name: string, oversample: number): Promise<{ mean: number; max: number }> {
    const { file } = files.find((f) => f.name === name)!;
    const ref = new Float32Array((await readFile(`${file}.ref.f32`)).buffer.slice(0));
    const { tensor } = await decodeImage(await readFile(file), CHINESE_CLIP_PREP, { ...DEFAULT_DECODE_LIMITS, tensorOversample: oversample });
    expect(tensor.data.length).toBe(ref.length);
    let sum = 0;
    let max = 0;
    for (let i = 0; i < ref.length; i++) {
      const d = Math.abs(tensor.data[i]! - ref[i]!);
      sum += d;
      max = Math.max(max, d);
    }
    results.push({ name, oversample, mean: sum / ref.length, max });
    return { mean: sum / ref.length, max };
  }

  // Where nothing was shrunk on load the resampling alone decides, and it is Pillow's to the byte (one
  // level of a byte is 0.014 in normalised units; what remains is float rounding of the normalisation).
  test.each(CASES.filter((c) => c.fullScale).map((c) => c.name))('%s: the same tensor as Pillow', async (name) => {
    expect((await difference(name, DEFAULT_DECODE_LIMITS.tensorOversample)).max).toBeLessThan(1e-5);
  });

  // The default decodes at the DCT scale the tensor needs: photos stay within 0.01, dense text within 0.015.
  test.each(CASES.map((c) => c.name))('%s with the default decode scale', async (name) => {
    expect(DEFAULT_DECODE_LIMITS.tensorOversample).toBe(1);
    expect((await difference(name, DEFAULT_DECODE_LIMITS.tensorOversample)).mean).toBeLessThanOrEqual(name.startsWith('text') ? 0.015 : 0.01);
  });

  // PREPROCESS_OVERSAMPLE=4 buys fidelity on text with decode time.
  test.each(CASES.map((c) => c.name))('%s within 0.01 at oversample 4', async (name) => {
    expect((await difference(name, 4)).mean).toBeLessThanOrEqual(0.01);
  });
});
