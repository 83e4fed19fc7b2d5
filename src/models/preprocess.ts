import type { Sharp } from 'sharp';
import type { ModelManifest } from './manifest';
import { cropRgb, pilResizeRgb, type RgbImage } from './pilResize';

/** What turning pixels into the encoder's tensor needs to know. */
export type ImagePreprocessing = Pick<ModelManifest['image'], 'size' | 'resize' | 'interpolation' | 'mean' | 'std'>;

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
 * Resizes decoded RGB the way the pack's reference transform does, with Pillow's arithmetic:
 * squash = straight to size×size (Chinese-CLIP); cover = shortest edge to size, then the centre
 * size×size (OpenAI CLIP, Hugging Face's CLIPImageProcessor).
 */
export function pixelTensorFromRgb(image: RgbImage, prep: ImagePreprocessing): PixelTensor {
  const { size } = prep;
  let out: RgbImage;
  if (prep.resize === 'squash') {
    out = pilResizeRgb(image, size, size, prep.interpolation);
  } else {
    const short = Math.min(image.width, image.height);
    const long = Math.max(image.width, image.height);
    const scaledLong = Math.trunc((size * long) / short);
    const [w, h] = image.width <= image.height ? [size, scaledLong] : [scaledLong, size];
    const resized = pilResizeRgb(image, w, h, prep.interpolation);
    out = cropRgb(resized, Math.floor((w - size) / 2), Math.floor((h - size) / 2), size, size);
  }
  return { data: rgbToChw(out.data, size, prep.mean, prep.std), size };
}

/** Raw sRGB pixels of any sharp pipeline: alpha flattened onto white, so every source is treated alike. */
export async function decodeRgb(image: Sharp): Promise<RgbImage> {
  const { data, info } = await image.toColourspace('srgb').flatten({ background: '#ffffff' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`expected 3 channels after decoding, got ${info.channels}`);
  return { data, width: info.width, height: info.height };
}

export async function toPixelTensor(image: Sharp, prep: ImagePreprocessing): Promise<PixelTensor> {
  return pixelTensorFromRgb(await decodeRgb(image), prep);
}
