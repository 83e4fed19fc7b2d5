import { AppError } from '../errors/appError';
import sharp, { type Metadata } from 'sharp';
import type { GeoPoint } from '../util/geo';
import { readExif } from './exif';
import { decodeRgb, pixelTensorFromRgb, type ImagePreprocessing, type PixelTensor } from '../models/preprocess';

/** Formats accepted for ingest and query images (HEIC needs a libheif build that sharp's prebuilt binary lacks). */
export const ACCEPTED_FORMATS: Record<string, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  tiff: 'image/tiff',
  heif: 'image/avif',
};

export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif']);

export type RejectReason = 'empty' | 'unsupported' | 'corrupt' | 'too_large';

const REJECTION_STATUS: Record<RejectReason, number> = { empty: 422, corrupt: 422, unsupported: 415, too_large: 413 };

/** The input is not an image we accept; nothing about it is stored. */
export class ImageRejected extends AppError {
  constructor(
    readonly reason: RejectReason,
    message: string,
  ) {
    super(REJECTION_STATUS[reason], `image_${reason}`, message);
  }
}

export interface DecodeLimits {
  maxPixels: number;
  /** Longest side of the stored preview, from which thumbnails and re-indexing work. */
  previewSize: number;
  thumbnailSize: number;
  /**
   * Shrink-on-load stops while the decoded image's shorter side is still this many times the
   * encoder's input size: the final resize then matches the reference transform, which resizes
   * from the full image, within 0.01 (normalised units) even on text; 1 decodes smallest and fastest.
   */
  tensorOversample: number;
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = { maxPixels: 100_000_000, previewSize: 512, thumbnailSize: 256, tensorOversample: 4 };

export interface ImageInfo {
  mime: string;
  width: number;
  height: number;
  takenAt: Date | undefined;
  camera: string | undefined;
  location: GeoPoint | undefined;
}

export interface DecodedImage extends ImageInfo {
  tensor: PixelTensor;
  /** JPEG, longest side <= previewSize, orientation applied. */
  preview: Buffer;
  thumbnail: Buffer;
}

/** Reads the header only: format, size (after EXIF rotation), capture time, camera and position. */
export async function probeImage(data: Buffer, limits: Pick<DecodeLimits, 'maxPixels'>): Promise<ImageInfo> {
  if (data.length === 0) throw new ImageRejected('empty', 'the file is empty');
  let meta: Metadata;
  try {
    meta = await sharp(data, { limitInputPixels: false }).metadata();
  } catch (e) {
    throw new ImageRejected('unsupported', `not a supported image: ${(e as Error).message}`);
  }
  const mime = meta.format ? ACCEPTED_FORMATS[meta.format] : undefined;
  if (!mime) throw new ImageRejected('unsupported', `unsupported image format: ${meta.format ?? 'unknown'}`);
  const { width, height } = meta;
  if (!width || !height) throw new ImageRejected('corrupt', 'the image has no dimensions');
  // Checked from the header, before any pixel is decoded: this is what stops decompression bombs.
  if (width * height > limits.maxPixels) {
    throw new ImageRejected('too_large', `image is ${width}x${height} (${width * height} pixels); the limit is ${limits.maxPixels}`);
  }
  const rotated = (meta.orientation ?? 1) >= 5;
  return { mime, width: rotated ? height : width, height: rotated ? width : height, ...readExif(meta.exif) };
}

/**
 * The largest power-of-two reduction (JPEG and WebP decode at 1/2..1/8 scale for it) that keeps the
 * shorter side at `minSide` or more; 1 when the image is not that large.
 */
export function shrinkOnLoadFactor(width: number, height: number, minSide: number): number {
  for (const f of [8, 4, 2]) if (Math.min(width, height) / f >= minSide) return f;
  return 1;
}

/**
 * Decodes once, shrinking on load only as far as tensor fidelity allows, then derives the model
 * tensor (Pillow-exact resize), the preview and the thumbnail from those pixels.
 */
export async function decodeImage(data: Buffer, prep: ImagePreprocessing, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): Promise<DecodedImage> {
  const info = await probeImage(data, limits);
  const minSide = Math.max(prep.size * limits.tensorOversample, limits.previewSize);
  const factor = shrinkOnLoadFactor(info.width, info.height, minSide);
  let pipeline = sharp(data, { limitInputPixels: limits.maxPixels, failOn: 'error', animated: false }).rotate();
  // Asking for exactly 1/factor of the size lets libjpeg/libwebp decode at that scale with no further resize.
  if (factor > 1) pipeline = pipeline.resize(Math.ceil(info.width / factor), Math.ceil(info.height / factor), { fit: 'fill' });
  let pixels: Awaited<ReturnType<typeof decodeRgb>>;
  try {
    pixels = await decodeRgb(pipeline);
  } catch (e) {
    throw new ImageRejected('corrupt', `the image could not be decoded: ${(e as Error).message}`);
  }
  // The thumbnail comes from the preview's pixels: resizing the full decode twice cost more.
  const previewRaw = await sharp(pixels.data, { raw: { width: pixels.width, height: pixels.height, channels: 3 } })
    .resize(limits.previewSize, limits.previewSize, { fit: 'inside', withoutEnlargement: true })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const raw = { raw: { width: previewRaw.info.width, height: previewRaw.info.height, channels: 3 as const } };
  const [preview, thumbnail] = await Promise.all([
    // JPEG, not WebP: encoding a 512 px WebP costs more than decoding a 2 MP photo (see bench).
    sharp(previewRaw.data, raw).jpeg({ quality: 85 }).toBuffer(),
    sharp(previewRaw.data, raw)
      .resize(limits.thumbnailSize, limits.thumbnailSize, { fit: 'inside', withoutEnlargement: true })
      .jpeg({ quality: 80 })
      .toBuffer(),
  ]);
  return { ...info, tensor: pixelTensorFromRgb(pixels, prep), preview, thumbnail };
}
