import sharp from 'sharp';
import { ImageRejected } from './decode';

export interface FrameSampling {
  minSpacingMs: number;
  maxSpacingMs: number;
  maxFrames: number;
  /** Mean absolute change (0-1) of an 8x8 grey version of the frame that counts as a new scene. */
  changeThreshold: number;
}

export interface AnimatedFrame {
  page: number;
  startMs: number;
  endMs: number;
  /** The frame, composed as browsers show it, as PNG. */
  png: Buffer;
}

const SIDE = 8;

/**
 * Frames of an animated GIF or WebP picked as video frames are: the first, each later one that changed
 * the picture (at least minSpacingMs after the last pick), and one at least every maxSpacingMs. The
 * change is measured on every frame shrunk to 8x8 grey, all decoded in one pass. Runs in a decode
 * process (see DecodePool.animationFrames): decoding every frame is ingest's work, never the searches'.
 * An animation that cannot be sampled is an ImageRejected, told apart from a decode process that failed.
 */
export function sampleAnimation(data: Buffer, delaysMs: readonly number[], s: FrameSampling, maxPixels: number): Promise<AnimatedFrame[]> {
  return withinPixelLimit(data, maxPixels)
    .then(() => pickFrames(data, delaysMs, s, maxPixels))
    .catch((e: Error) => {
      throw e instanceof ImageRejected ? e : new ImageRejected('corrupt', `its frames could not be sampled: ${e.message}`);
    });
}

/** Sampling decodes every frame, so the pixel limit applies to all of them together (as sharp counts them). */
async function withinPixelLimit(data: Buffer, maxPixels: number): Promise<void> {
  const { width = 0, height = 0, pageHeight = height, pages = 1 } = await sharp(data, { limitInputPixels: false }).metadata();
  const pixels = width * pageHeight * pages;
  if (pixels > maxPixels)
    throw new ImageRejected('too_large', `its ${pages} frames of ${width}x${pageHeight} (${pixels} pixels) exceed the limit of ${maxPixels}`);
}

async function pickFrames(data: Buffer, delaysMs: readonly number[], s: FrameSampling, maxPixels: number): Promise<AnimatedFrame[]> {
  const pages = delaysMs.length;
  const starts = delaysMs.reduce<number[]>((acc, _d, i) => [...acc, i === 0 ? 0 : acc[i - 1]! + delaysMs[i - 1]!], []);
  const total = starts[pages - 1]! + delaysMs[pages - 1]!;
  // All frames as one tall strip of 8x8 grey tiles: sharp resizes each frame of an animated image to
  // the size asked (asking for 8 x 8*pages made each frame 8 x 8*pages, and every tile read frame 0).
  const { data: strip, info } = await sharp(data, { animated: true, limitInputPixels: maxPixels })
    .resize(SIDE, SIDE, { fit: 'fill' })
    .grayscale()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (strip.length !== SIDE * SIDE * pages)
    throw new Error(`expected ${pages} frames of ${SIDE}x${SIDE} grey, got ${info.width}x${info.height}x${info.channels}`);
  const tile = (i: number) => strip.subarray(i * SIDE * SIDE, (i + 1) * SIDE * SIDE);
  const change = (a: number, b: number) => tile(a).reduce((sum, v, k) => sum + Math.abs(v - tile(b)[k]!), 0) / (SIDE * SIDE * 255);
  const maxSpacing = Math.max(s.maxSpacingMs, s.maxFrames > 1 ? Math.ceil(total / (s.maxFrames - 1)) : total);
  const picked = [0];
  for (let i = 1; i < pages && picked.length < s.maxFrames; i++) {
    const last = picked[picked.length - 1]!;
    const since = starts[i]! - starts[last]!;
    if (since >= maxSpacing || (since >= Math.min(s.minSpacingMs, maxSpacing) && change(i, last) > s.changeThreshold)) picked.push(i);
  }
  return Promise.all(
    picked.map(async (page, k) => ({
      page,
      startMs: starts[page]!,
      endMs: k + 1 < picked.length ? starts[picked[k + 1]!]! : total,
      png: await sharp(data, { page, pages: 1, limitInputPixels: maxPixels }).png({ compressionLevel: 1 }).toBuffer(),
    })),
  );
}
