import exifReader from 'exif-reader';
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { toPixelTensor, type ImagePreprocessing, type PixelTensor } from '../models/preprocess';

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

/** The input is not an image we accept; nothing about it is stored. */
export class ImageRejected extends Error {
  constructor(
    readonly reason: RejectReason,
    message: string,
  ) {
    super(message);
  }
}

export interface DecodeLimits {
  maxPixels: number;
  /** Longest side of the stored preview, from which thumbnails and re-indexing work. */
  previewSize: number;
  thumbnailSize: number;
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = { maxPixels: 100_000_000, previewSize: 512, thumbnailSize: 256 };

export interface ImageInfo {
  mime: string;
  width: number;
  height: number;
  takenAt: Date | undefined;
}

export interface DecodedImage extends ImageInfo {
  tensor: PixelTensor;
  /** JPEG, longest side <= previewSize, orientation applied. */
  preview: Buffer;
  thumbnail: Buffer;
}

function takenAtFromExif(exif: Buffer | undefined): Date | undefined {
  if (!exif) return undefined;
  try {
    const tags = exifReader(exif);
    const t = tags.Photo?.DateTimeOriginal ?? tags.Image?.DateTime;
    return t instanceof Date && !Number.isNaN(t.getTime()) ? t : undefined;
  } catch {
    // Broken EXIF must not reject an otherwise good photo.
    return undefined;
  }
}

/** Reads the header only: format, size (after EXIF rotation) and capture time. */
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
  return { mime, width: rotated ? height : width, height: rotated ? width : height, takenAt: takenAtFromExif(meta.exif) };
}

/**
 * Decodes once into a bounded preview (shrink-on-load keeps large JPEGs cheap), then derives
 * the model tensor and the thumbnail from that preview rather than from the original again.
 */
export async function decodeImage(data: Buffer, prep: ImagePreprocessing, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): Promise<DecodedImage> {
  const info = await probeImage(data, limits);
  let preview: { data: Buffer; info: OutputInfo };
  try {
    preview = await sharp(data, { limitInputPixels: limits.maxPixels, failOn: 'error', animated: false })
      .rotate()
      // Resizing in the decoding pipeline lets libjpeg decode large JPEGs at 1/2..1/8 scale (shrink-on-load).
      .resize(limits.previewSize, limits.previewSize, { fit: 'inside', withoutEnlargement: true })
      .toColourspace('srgb')
      .flatten({ background: '#ffffff' })
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new ImageRejected('corrupt', `the image could not be decoded: ${(e as Error).message}`);
  }
  const raw = { raw: { width: preview.info.width, height: preview.info.height, channels: preview.info.channels as 3 } };
  const [tensor, previewWebp, thumbnail] = await Promise.all([
    toPixelTensor(sharp(preview.data, raw), prep),
    // JPEG, not WebP: encoding a 512 px WebP costs more than decoding a 2 MP photo (see bench).
    sharp(preview.data, raw).jpeg({ quality: 85 }).toBuffer(),
    sharp(preview.data, raw).resize(limits.thumbnailSize, limits.thumbnailSize, { fit: 'inside', withoutEnlargement: true }).jpeg({ quality: 80 }).toBuffer(),
  ]);
  return { ...info, tensor, preview: previewWebp, thumbnail };
}
