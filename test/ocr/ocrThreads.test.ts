import sharp from 'sharp';
import { textImage } from '../../bench/fixtures';
import { OcrThreads } from '../../src/ocr/ocrThreads';
import { bundledOcrModelDir, PpOcr, type PpOcrSettings } from '../../src/ocr/ppOcr';
import type { RgbImage, Schedule } from '../../src/ocr/textReader';
import { tempDir } from '../helpers/env';
import { threadNices } from '../helpers/proc';

const RECEIPT = ['老北京炸酱面馆', '发票金额：128元', '2024-05-01 12:30'];
const settings: PpOcrSettings = { modelDir: bundledOcrModelDir(), minConfidence: 0.5, intraOpThreads: 1 };

async function receiptPixels(): Promise<RgbImage> {
  const { data, info } = await sharp(await textImage(RECEIPT, { width: 640, fontSize: 32 }))
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** A schedule that admits each model run only when the test says so, and counts the runs in progress. */
function heldSchedule() {
  const held: (() => void)[] = [];
  const state = { admitted: 0, active: 0, mostActive: 0 };
  const schedule: Schedule = async (run) => {
    await new Promise<void>((admit) => held.push(admit));
    state.admitted++;
    state.mostActive = Math.max(state.mostActive, ++state.active);
    try {
      return await run();
    } finally {
      state.active--;
    }
  };
  const nextAsked = async () => {
    for (let i = 0; i < 500 && held.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    return held.shift();
  };
  return { schedule, state, nextAsked };
}

describe('OCR threads: PP-OCR off the thread that answers requests', () => {
  test('reads what PP-OCR reads on the calling thread, niced, each model run admitted by the schedule', async () => {
    const image = await receiptPixels();
    const here = await PpOcr.open(settings);
    const expected = await here.read({ ...image, data: Uint8Array.from(image.data) });
    await here.close();
    expect(expected.map((l) => l.text).join('\n')).toContain('老北京炸酱面馆');

    const before = new Set(threadNices().keys());
    const ocr = await OcrThreads.open(settings, { concurrency: 1, nice: 15 });
    try {
      expect(ocr.niced).toBe(true);
      const added = [...threadNices()].filter(([tid]) => !before.has(tid));
      expect(added.some(([, nice]) => nice === 15)).toBe(true);
      expect(threadNices().get(process.pid)).toBe(0);

      const { schedule, state, nextAsked } = heldSchedule();
      let settled = false;
      const reading = ocr.read(image, schedule).finally(() => (settled = true));
      // The detector waits for its turn: nothing is read until the schedule admits it.
      const detector = await nextAsked();
      expect(detector).toBeDefined();
      await new Promise((r) => setTimeout(r, 100));
      expect(settled).toBe(false);
      detector!();
      for (let admit = await nextAsked(); admit; admit = settled ? undefined : await nextAsked()) admit();
      const lines = await reading;
      expect(lines).toEqual(expected);
      // The detector, then the recogniser once for three lines of similar width; never two at once.
      expect(state).toEqual({ admitted: 2, active: 0, mostActive: 1 });
    } finally {
      await ocr.close();
    }
  });

  test('closing fails the reads in progress and frees a run admitted after it, so no gate slot stays taken', async () => {
    const ocr = await OcrThreads.open(settings, { concurrency: 2, nice: null });
    const { schedule, state, nextAsked } = heldSchedule();
    const reading = ocr.read(await receiptPixels(), schedule);
    const admit = await nextAsked();
    await ocr.close();
    await expect(reading).rejects.toThrow(/OCR thread stopped/);
    admit!();
    for (let i = 0; i < 100 && state.admitted === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(state).toMatchObject({ admitted: 1, active: 0 });
  });

  test('models that cannot be loaded fail the opening with the reason and leave no thread behind', async () => {
    const before = threadNices().size;
    await expect(OcrThreads.open({ ...settings, modelDir: await tempDir('no-ocr-models') }, { concurrency: 2, nice: null })).rejects.toThrow(
      /ppocr_keys_v1\.txt/,
    );
    for (let i = 0; i < 100 && threadNices().size > before; i++) await new Promise((r) => setTimeout(r, 10));
    expect(threadNices().size).toBeLessThanOrEqual(before);
  });
});
