import path from 'node:path';
import { writeTextPhotos } from '../../bench/ocrMix';
import { ocrSettingsFrom } from '../../src/app/adapters';
import { loadConfig } from '../../src/config/env';
import { bundledOcrModelDir, DETECT_SIDE, PpOcr, type PpOcrSettings } from '../../src/ocr/ppOcr';
import { tempDir } from '../helpers/env';
import { asStageReads } from '../helpers/ocrInput';

const settings: PpOcrSettings = { modelDir: bundledOcrModelDir(), minConfidence: 0.5, intraOpThreads: 1, glimpsePixels: 0 };

describe("OCR detects at PaddleOCR's 960 and reads the lines from the 1280 px input", () => {
  test('the service detects at 960 unless told, and never at more than the side OCR reads', () => {
    const detectSide = (env: Record<string, string>) => ocrSettingsFrom(loadConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/x', ...env })).detectSide;
    expect(DETECT_SIDE).toBe(960);
    expect(detectSide({})).toBe(960);
    expect(detectSide({ OCR_DETECT_SIDE: '1280' })).toBe(1280);
    expect(detectSide({ OCR_DETECT_SIDE: '2000' })).toBe(1280);
    expect(detectSide({ OCR_MAX_SIDE: '800' })).toBe(800);
    expect(() => loadConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/x', OCR_DETECT_SIDE: '10' })).toThrow(/OCR_DETECT_SIDE/);
    // The glimpse's size likewise has its default in one place, the reader's.
    expect(ocrSettingsFrom(loadConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/x' })).glimpsePixels).toBeUndefined();
    expect(ocrSettingsFrom(loadConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/x', OCR_GLIMPSE_PIXELS: '0' })).glimpsePixels).toBe(0);
  });

  test('a screenshot, a receipt, a menu and a sign with 24 px text read the same lines as detected at 1280, boxes in the input', async () => {
    const dir = await tempDir('detect-side');
    const [at960, at1280] = await Promise.all([PpOcr.open(settings), PpOcr.open({ ...settings, detectSide: 1280 })]);
    try {
      const photos = await writeTextPhotos(path.join(dir, 'text'), 4, 4);
      expect(photos.map((p) => p.kind)).toEqual(['screenshot', 'receipt', 'menu', 'sign 24 px']);
      for (const p of photos) {
        const image = await asStageReads(p.file);
        const [small, large] = [await at960.read(image), await at1280.read(image)];
        const texts = small.map((l) => l.text);
        expect(texts).toEqual(large.map((l) => l.text));
        for (const line of p.lines) expect(texts.join('').replace(/\s/g, '')).toContain(line.replace(/\s/g, ''));
        // Boxes are the input's pixels, whatever the detector's scale: each within a few pixels of the 1280 detection's.
        small.forEach((l, i) => {
          expect(Math.max(l.box[2], l.box[3])).toBeLessThanOrEqual(Math.max(image.width, image.height));
          l.box.forEach((v, k) => expect(Math.abs(v - large[i]!.box[k]!)).toBeLessThanOrEqual(8));
        });
      }
    } finally {
      await Promise.all([at960.close(), at1280.close()]);
    }
  });
});
