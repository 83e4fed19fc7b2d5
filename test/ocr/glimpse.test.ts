import path from 'node:path';
import { writeTextFreePhotos, writeTextPhotos } from '../../bench/ocrMix';
import { bundledOcrModelDir, PpOcr, type PpOcrSettings } from '../../src/ocr/ppOcr';
import type { RgbImage, Schedule } from '../../src/ocr/textReader';
import { tempDir } from '../helpers/env';
import { asStageReads } from '../helpers/ocrInput';

const settings: PpOcrSettings = { modelDir: bundledOcrModelDir(), minConfidence: 0.5, intraOpThreads: 1 };

/** Counts the model runs a read asks for. */
function counted() {
  const runs = { n: 0 };
  const schedule: Schedule = (run) => {
    runs.n++;
    return run();
  };
  return { runs, schedule };
}

describe('the OCR glimpse: a small detection first, and a photo without text is not read', () => {
  let glimpsing: PpOcr;
  let fullOnly: PpOcr;
  let dir: string;
  beforeAll(async () => {
    [glimpsing, fullOnly, dir] = await Promise.all([PpOcr.open(settings), PpOcr.open({ ...settings, glimpsePixels: 0 }), tempDir('glimpse')]);
  });
  afterAll(async () => {
    await Promise.all([glimpsing.close(), fullOnly.close()]);
  });

  test('a photo without text costs one small detection and reads nothing, as the full detection does', async () => {
    const photos = await writeTextFreePhotos(path.join(dir, 'free'), 3, 1600, 1200, 4);
    expect(photos.map((p) => p.kind).sort()).toEqual(['brick', 'grain', 'scene']);
    for (const p of photos) {
      const image = await asStageReads(p.file);
      const { runs, schedule } = counted();
      expect(await glimpsing.read(image, schedule)).toEqual([]);
      expect(runs.n).toBe(1);
      expect(await fullOnly.read(image)).toEqual([]);
    }
  });

  test('a screenshot, a receipt, a menu and a sign with 24 px text are read as without the glimpse', async () => {
    const photos = await writeTextPhotos(path.join(dir, 'text'), 4, 4);
    expect(photos.map((p) => p.kind)).toEqual(['screenshot', 'receipt', 'menu', 'sign 24 px']);
    for (const p of photos) {
      const image = await asStageReads(p.file);
      const { runs, schedule } = counted();
      const lines = await glimpsing.read(image, schedule);
      expect(lines).toEqual(await fullOnly.read(image));
      expect(lines.map((l) => l.text).join('')).toContain(p.lines[0]!.slice(0, 4));
      // The glimpse, the full detection, then the recogniser.
      expect(runs.n).toBeGreaterThanOrEqual(3);
    }
  });

  test('with the glimpse off, or an image too small for it to save anything, every image is detected in full', async () => {
    const { runs, schedule } = counted();
    const small: RgbImage = { data: new Uint8Array(400 * 300 * 3).fill(200), width: 400, height: 300 };
    expect(await glimpsing.mayHoldText(small, schedule)).toBe(true);
    expect(await fullOnly.mayHoldText(await asStageReads((await writeTextFreePhotos(path.join(dir, 'off'), 1, 1600, 1200, 9))[0]!.file), schedule)).toBe(true);
    expect(runs.n).toBe(0);
  });
});
