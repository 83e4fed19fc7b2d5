import type { Sharp } from 'sharp';
import type { ModelManifest } from './manifest';

export type ImagePreprocessing = ModelManifest['image'];

/** One image ready for the encoder: CHW float32, normalised with the pack's mean/std. */
export interface PixelTensor {
  data: Float32Array;
  size: number;
}

/**
 * Turns interleaved 8-bit RGB (HWC) into normalised planar CHW floats, the layout CLIP-style
 * vision encoders expect.
 */
export function rgbToChw(rgb: Uint8Array | Buffer, size: number, mean: readonly number[], std: readonly number[]): Float32Array {
  const plane = size * size;
  if (rgb.length !== plane * 3) throw new Error(`expected ${plane * 3} bytes of RGB, got ${rgb.length}`);
  const out = new Float32Array(plane * 3);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) out[c * plane + i] = (rgb[i * 3 + c]! / 255 - mean[c]!) / std[c]!;
  }
  return out;
}

/**
 * Resizes a decoded image the way the pack was trained. The input is any sharp pipeline;
 * colour space, EXIF orientation and alpha are handled here so every source is treated alike.
 */
export async function toPixelTensor(image: Sharp, prep: ImagePreprocessing): Promise<PixelTensor> {
  const { data, info } = await image
    .resize(prep.size, prep.size, { fit: prep.resize === 'cover' ? 'cover' : 'fill', position: 'centre' })
    .toColourspace('srgb')
    .flatten({ background: '#ffffff' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`expected 3 channels after preprocessing, got ${info.channels}`);
  return { data: rgbToChw(data, prep.size, prep.mean, prep.std), size: prep.size };
}
