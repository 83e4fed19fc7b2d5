import { mkdir, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { ExifTool, type Tags } from 'exiftool-vendored';
import sharp from 'sharp';
import { ImageRejected } from '../images/decode';
import type { GeoPoint } from '../util/geo';

/** Camera raw formats: read through the JPEG the camera embedded, since no raw developer runs here. */
export const RAW_EXTENSIONS = new Set(['.dng', '.cr2', '.cr3', '.nef', '.nrw', '.arw', '.srf', '.sr2', '.raf', '.orf', '.rw2', '.pef', '.srw', '.3fr', '.iiq']);

/** Raw formats with a signature of their own; TIFF-based ones (DNG, NEF, ARW) are known by their name. */
export function sniffRaw(data: Buffer): boolean {
  if (data.length < 16) return false;
  const tiff = data.toString('latin1', 0, 4);
  if (tiff === 'II*\0' && data.toString('latin1', 8, 10) === 'CR') return true; // Canon CR2
  if (data.toString('latin1', 4, 12) === 'ftypcrx ') return true; // Canon CR3
  if (data.toString('latin1', 0, 15) === 'FUJIFILMCCD-RAW') return true;
  return tiff === 'IIRO' || tiff === 'IIRS' || tiff === 'IIU\0'; // Olympus ORF, Panasonic RW2
}

export function isRaw(data: Buffer, name: string | null): boolean {
  return (name !== null && RAW_EXTENSIONS.has(path.extname(name).toLowerCase())) || sniffRaw(data);
}

export interface RawPreview {
  /** The embedded JPEG, as the camera stored it. */
  jpeg: Buffer;
  /**
   * The raw's EXIF orientation, for decoding the JPEG when it has none of its own (DecodeLimits'
   * fallbackOrientation): re-encoding a full-size JPEG just to tag it cost the main process a whole
   * decode and encode at the searches' priority.
   */
  orientation: number;
  mime: string;
  takenAt: Date | undefined;
  camera: string | undefined;
  location: GeoPoint | undefined;
}

/** A preview smaller than this on its longer side is a thumbnail, not a photo to index. */
const MIN_PREVIEW_SIDE = 640;

const ORIENTATIONS: Record<string, number> = {
  'Horizontal (normal)': 1,
  'Mirror horizontal': 2,
  'Rotate 180': 3,
  'Mirror vertical': 4,
  'Mirror horizontal and rotate 270 CW': 5,
  'Rotate 90 CW': 6,
  'Mirror horizontal and rotate 90 CW': 7,
  'Rotate 270 CW': 8,
};

/** As exif-reader reads JPEGs: a time without a zone is taken as UTC, so the same photo reads alike in both. */
function takenAt(tags: Tags): Date | undefined {
  const t = tags.DateTimeOriginal ?? tags.CreateDate;
  const raw = typeof t === 'string' ? t : typeof t === 'object' ? t.rawValue : undefined;
  const m = raw ? /^(\d{4}):(\d\d):(\d\d)[ T](\d\d):(\d\d):(\d\d)/.exec(raw) : null;
  if (!m) return undefined;
  const d = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
  return Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1980 ? undefined : d;
}

function located(tags: Tags): GeoPoint | undefined {
  const [lat, lon] = [Number(tags.GPSLatitude), Number(tags.GPSLongitude)];
  return tags.GPSLatitude !== undefined && Number.isFinite(lat) && Number.isFinite(lon) && (lat !== 0 || lon !== 0) ? { lat, lon } : undefined;
}

/**
 * The full-size JPEG a camera embeds in its raw file (JpgFromRaw, else PreviewImage), read with ExifTool
 * (exiftool-vendored: the Perl ExifTool, run by the system's perl, one long-lived process). Small IFD1
 * thumbnails, all a JavaScript EXIF reader reaches, are refused: a raw without a real preview fails
 * with that reason instead of being indexed from 160 px.
 */
export class RawPreviews {
  private readonly exiftool = new ExifTool({ maxProcs: 1, taskTimeoutMillis: 30_000 });

  constructor(private readonly workDir: string) {}

  async extract(data: Buffer, file: string | null): Promise<RawPreview> {
    let scratch: string | null = null;
    try {
      if (!file) {
        await mkdir(this.workDir, { recursive: true });
        scratch = path.join(this.workDir, `raw-${randomBytes(6).toString('hex')}`);
        await writeFile(scratch, data);
      }
      const input = file ?? scratch!;
      const tags = await this.exiftool.read(input);
      let jpeg: Buffer | null = null;
      for (const tag of ['JpgFromRaw', 'PreviewImage'] as const) {
        jpeg = await this.exiftool.extractBinaryTagToBuffer(tag, input).catch(() => null);
        if (jpeg?.length) break;
      }
      if (!jpeg?.length)
        throw new ImageRejected('unsupported', `${tags.FileType ?? 'raw'} file without an embedded JPEG preview: nothing here can develop the raw data`);
      const meta = await sharp(jpeg).metadata();
      const side = Math.max(meta.width ?? 0, meta.height ?? 0);
      if (side < MIN_PREVIEW_SIDE)
        throw new ImageRejected('unsupported', `the raw file's only embedded preview is ${meta.width}x${meta.height}, too small to index`);
      const orientation = typeof tags.Orientation === 'number' ? tags.Orientation : (ORIENTATIONS[String(tags.Orientation)] ?? 1);
      const model = tags.Model?.trim();
      const make = tags.Make?.trim();
      return {
        jpeg,
        orientation,
        mime: tags.MIMEType ?? 'image/x-raw',
        takenAt: takenAt(tags),
        camera: model ? (make && !model.toLowerCase().startsWith(make.split(' ')[0]!.toLowerCase()) ? `${make} ${model}` : model) : make,
        location: located(tags),
      };
    } finally {
      if (scratch) await rm(scratch, { force: true });
    }
  }

  close(): Promise<void> {
    return this.exiftool.end();
  }
}
