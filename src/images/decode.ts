import { AppError } from '../errors/appError';
import sharp, { type Metadata, type Sharp } from 'sharp';
import type { GeoPoint } from '../util/geo';
import { exifOrientation, readExif } from './exif';
import { decodeHeic, heifHasTransform, isHeic, looksLikeHeif } from './heic';
import { applyOrientation, swapsSides } from './orientation';
import { similarityOf } from './similarity';
import { decodeRgb, pixelTensorFromRgb, type ImagePreprocessing, type PixelTensor } from '../models/preprocess';

/** Formats accepted for ingest and query images; HEIC's pixels come from libheif in WebAssembly (see heic.ts). */
export const ACCEPTED_FORMATS: Record<string, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  tiff: 'image/tiff',
};

/** sharp says "heif" for both: the codec inside tells them apart. */
const HEIF_TYPES: Record<string, string> = { hevc: 'image/heic', av1: 'image/avif' };

export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.heic', '.heif']);

export type RejectReason = 'empty' | 'unsupported' | 'corrupt' | 'too_large';

const REJECTION_CODE = { empty: 'image_empty', corrupt: 'image_corrupt', unsupported: 'image_unsupported', too_large: 'image_too_large' } as const;

/** The input is not an image we accept; nothing about it is stored. */
export class ImageRejected extends AppError {
  constructor(
    readonly reason: RejectReason,
    message: string,
  ) {
    super(REJECTION_CODE[reason], message);
  }
}

export interface DecodeLimits {
  maxPixels: number;
  /** Longest side of the stored preview, from which thumbnails and re-indexing work. */
  previewSize: number;
  thumbnailSize: number;
  /**
   * Shrink-on-load stops while the decoded image's shorter side is still this many times the
   * encoder's input size. 1 decodes at the DCT scale the tensor needs, smallest and fastest, and
   * stays within 0.003 (normalised units) of the reference transform, which resizes from the full
   * image; 4 gets within 0.0015 on 12 MP photos for about twice the decode time (see bench:models).
   */
  tensorOversample: number;
  /** Also make OCR's input (longest side in px) from the same file; unset when OCR will not read it. */
  ocrSide?: number;
  /** Also measure what near-duplicate finding keeps (hash, sharpness): a new still's, not a query's or a re-index's. */
  similarity?: boolean;
  /**
   * EXIF orientation (1-8) for an image that carries none of its own: a camera raw's embedded JPEG,
   * which the raw file's tags say how to turn. The image's own orientation wins.
   */
  fallbackOrientation?: number;
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = { maxPixels: 100_000_000, previewSize: 512, thumbnailSize: 256, tensorOversample: 1 };

export interface ImageInfo {
  mime: string;
  width: number;
  height: number;
  takenAt: Date | undefined;
  camera: string | undefined;
  location: GeoPoint | undefined;
  edited: boolean;
}

export interface DecodedImage extends ImageInfo {
  tensor: PixelTensor;
  /** JPEG, longest side <= previewSize, orientation applied. */
  preview: Buffer;
  thumbnail: Buffer;
  /** Present when the limits asked for it (ocrSide). */
  ocrInput?: Buffer;
  /** An animated GIF or WebP: how long each frame shows. The fields above are its first frame. */
  frameDelaysMs?: number[];
  /** When the limits asked for them: the difference hash (hex; null when too flat to hash) and sharpness (see similarity.ts). */
  phash?: string | null;
  sharpness?: number;
}

/** Reads the header only: format, size (after rotation), capture time, camera and position. */
export async function probeImage(data: Buffer, limits: Pick<DecodeLimits, 'maxPixels'>): Promise<ImageInfo> {
  return (await probe(data, limits)).info;
}

interface Probed {
  info: ImageInfo;
  frameDelaysMs: number[] | undefined;
  heic: boolean;
  /** Orientation sharp's rotate() will not apply: a HEIC's (decoded outside sharp), or the fallback. */
  orientation: number;
}

async function probe(data: Buffer, limits: Pick<DecodeLimits, 'maxPixels' | 'fallbackOrientation'>): Promise<Probed> {
  if (data.length === 0) throw new ImageRejected('empty', 'the file is empty');
  let meta: Metadata;
  try {
    meta = await sharp(data, { limitInputPixels: false }).metadata();
  } catch (e) {
    if (looksLikeHeif(data)) throw new ImageRejected('corrupt', `the HEIF image is broken: ${(e as Error).message}`);
    throw new ImageRejected('unsupported', `not a supported image: ${(e as Error).message}`);
  }
  const mime = meta.format === 'heif' ? HEIF_TYPES[meta.compression ?? ''] : meta.format ? ACCEPTED_FORMATS[meta.format] : undefined;
  if (!mime) throw new ImageRejected('unsupported', `unsupported image format: ${meta.format ?? 'unknown'}${meta.compression ? ` (${meta.compression})` : ''}`);
  const { width, height } = meta;
  if (!width || !height) throw new ImageRejected('corrupt', 'the image has no dimensions');
  // Checked from the header, before any pixel is decoded: this is what stops decompression bombs.
  if (width * height > limits.maxPixels) {
    throw new ImageRejected('too_large', `image is ${width}x${height} (${width * height} pixels); the limit is ${limits.maxPixels}`);
  }
  const heic = isHeic(meta);
  // HEIF's own transforms are applied by libheif; EXIF's orientation only counts where there are none.
  const orientation = heic ? (heifHasTransform(data) ? 1 : exifOrientation(meta.exif)) : (meta.orientation ?? limits.fallbackOrientation ?? 1);
  const turned = swapsSides(orientation);
  // GIF frames without a delay show for 100 ms in browsers; 0 would make every frame the same instant.
  const frameDelaysMs = (meta.pages ?? 1) > 1 ? Array.from({ length: meta.pages! }, (_, i) => meta.delay?.[i] || 100) : undefined;
  return {
    info: { mime, width: turned ? height : width, height: turned ? width : height, ...readExif(meta.exif) },
    frameDelaysMs,
    heic,
    orientation: heic || !meta.orientation ? orientation : 1,
  };
}

/** Fresh sharp pipelines over one image, upright, and its upright size; a HEIC is decoded once and its pixels shared. */
interface ImageOpener {
  open(): Sharp;
  width: number;
  height: number;
}

async function opener(data: Buffer, probed: Probed, limits: Pick<DecodeLimits, 'maxPixels'>): Promise<ImageOpener> {
  if (!probed.heic) {
    const open = () => applyOrientation(sharp(data, { limitInputPixels: limits.maxPixels, failOn: 'error', animated: false }).rotate(), probed.orientation);
    return { open, ...probed.info };
  }
  let pixels: Awaited<ReturnType<typeof decodeHeic>>;
  try {
    pixels = await decodeHeic(data);
  } catch (e) {
    throw new ImageRejected('corrupt', `the HEIC image could not be decoded: ${(e as Error).message}`);
  }
  const raw = { raw: { width: pixels.width, height: pixels.height, channels: pixels.channels } };
  const turned = swapsSides(probed.orientation);
  // The decoded size, not the header's: libheif has applied the container's transforms.
  return {
    open: () => applyOrientation(sharp(pixels.data, raw), probed.orientation),
    width: turned ? pixels.height : pixels.width,
    height: turned ? pixels.width : pixels.height,
  };
}

/**
 * The largest power-of-two reduction (JPEG and WebP decode at 1/2..1/8 scale for it) that keeps the
 * shorter side at `minShort` or more (the tensor is cut from it) and the longer side at `minLong`
 * or more (the preview is bounded by it); 1 when the image is not that large.
 */
export function shrinkOnLoadFactor(width: number, height: number, minShort: number, minLong: number): number {
  const [short, long] = [Math.min(width, height), Math.max(width, height)];
  for (const f of [8, 4, 2]) if (short / f >= minShort && long / f >= minLong) return f;
  return 1;
}

/** An upright image's size with its longer side at most `maxSide`, as sharp's `fit: 'inside'` rounds it. */
function fitInside(width: number, height: number, maxSide: number): { width: number; height: number } {
  const scale = maxSide / Math.max(width, height);
  if (scale >= 1) return { width, height };
  return width >= height
    ? { width: maxSide, height: Math.max(1, Math.round(height * scale)) }
    : { width: Math.max(1, Math.round(width * scale)), height: maxSide };
}

/**
 * The one size a new photo is decoded to, every derivative made from it: 1/factor of the image for the
 * tensor and the preview, or OCR's input where that is larger (it is, for a 12 MP photo: 1280 px against
 * 1000). The larger request costs little more: sharp halves its shrink-on-load when the request is within
 * a factor of a whole power of two (to dodge libjpeg's rounding), so a 12 MP JPEG is read at 1/2 for either.
 */
export function decodeSize(width: number, height: number, minShort: number, minLong: number, ocrSide?: number): { width: number; height: number } {
  const factor = shrinkOnLoadFactor(width, height, minShort, minLong);
  const forTensor = { width: Math.ceil(width / factor), height: Math.ceil(height / factor) };
  const forOcr = ocrSide ? fitInside(width, height, ocrSide) : forTensor;
  return Math.max(forOcr.width, forOcr.height) > Math.max(forTensor.width, forTensor.height) ? forOcr : forTensor;
}

/**
 * Decodes once, shrinking on load only as far as tensor fidelity allows, then derives the model
 * tensor (Pillow-exact resize), the preview, the thumbnail and OCR's input from those pixels.
 */
export async function decodeImage(data: Buffer, prep: ImagePreprocessing, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): Promise<DecodedImage> {
  const probed = await probe(data, limits);
  const image = await opener(data, probed, limits);
  const info = { ...probed.info, width: image.width, height: image.height };
  const size = decodeSize(info.width, info.height, prep.size * limits.tensorOversample, limits.previewSize, limits.ocrSide);
  let pipeline = image.open();
  // Catmull-Rom, the reference's own bicubic: closer to Pillow's tensor than lanczos3 and cheaper (bench:decode).
  if (size.width !== info.width || size.height !== info.height) pipeline = pipeline.resize(size.width, size.height, { fit: 'fill', kernel: 'cubic' });
  let pixels: Awaited<ReturnType<typeof decodeRgb>>;
  try {
    pixels = await decodeRgb(pipeline);
  } catch (e) {
    throw new ImageRejected('corrupt', `the image could not be decoded: ${(e as Error).message}`);
  }
  const rgb = { raw: { width: pixels.width, height: pixels.height, channels: 3 as const } };
  // The thumbnail comes from the preview's pixels: resizing the full decode twice cost more.
  const previewRaw = await sharp(pixels.data, rgb)
    .resize(limits.previewSize, limits.previewSize, { fit: 'inside', withoutEnlargement: true })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const raw = { raw: { width: previewRaw.info.width, height: previewRaw.info.height, channels: 3 as const } };
  const measured = { data: previewRaw.data, ...raw.raw };
  const [preview, thumbnail, ocrInput, similarity] = await Promise.all([
    // JPEG, not WebP: encoding a 512 px WebP costs more than decoding a 2 MP photo (see bench). Without
    // optimised Huffman tables: 2.2 instead of 6.2 ms a preview here, for files about 13 % larger.
    sharp(previewRaw.data, raw).jpeg({ quality: 85, optimiseCoding: false }).toBuffer(),
    sharp(previewRaw.data, raw)
      .resize(limits.thumbnailSize, limits.thumbnailSize, { fit: 'inside', withoutEnlargement: true })
      .jpeg({ quality: 80 })
      .toBuffer(),
    limits.ocrSide ? ocrInputFrom(sharp(pixels.data, rgb), limits.ocrSide) : Promise.resolve(undefined),
    limits.similarity ? similarityOf(measured) : Promise.resolve(undefined),
  ]);
  return {
    ...info,
    tensor: pixelTensorFromRgb(pixels, prep),
    preview,
    thumbnail,
    ...similarity,
    ...(ocrInput ? { ocrInput } : {}),
    ...(probed.frameDelaysMs ? { frameDelaysMs: probed.frameDelaysMs } : {}),
  };
}

/**
 * What OCR reads: upright, its longest side at most `maxSide`, in colour, as PP-OCR reads it. A grey
 * copy cost more than the rest of a photo's decode (libvips makes grey from sRGB through linear light): 113
 * against 47 ms of CPU per 2 MP photo here. The file only lives until OCR has read it, so its Huffman
 * tables are not optimised either.
 */
function ocrInputFrom(image: Sharp, maxSide: number): Promise<Buffer> {
  return image
    .flatten({ background: '#ffffff' })
    .resize(maxSide, maxSide, { fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality: 90, optimiseCoding: false })
    .toBuffer();
}

/** OCR's input alone (images indexed before OCR was on), from any accepted format. */
export async function decodeOcrInput(data: Buffer, maxSide: number, limits: Pick<DecodeLimits, 'maxPixels'> = DEFAULT_DECODE_LIMITS): Promise<Buffer> {
  const probed = await probe(data, limits);
  return ocrInputFrom((await opener(data, probed, limits)).open(), maxSide);
}
