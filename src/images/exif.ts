import exifReader from 'exif-reader';
import type { GeoPoint } from '../util/geo';

/** What EXIF tells about a photo beyond its pixels. */
export interface ExifFacts {
  takenAt: Date | undefined;
  /** "Make Model", with the make left out when the model repeats it (e.g. "Canon EOS R5"). */
  camera: string | undefined;
  location: GeoPoint | undefined;
  /** An editor saved it (EXIF Software names one): the original is the better copy to keep. */
  edited: boolean;
}

const NONE: ExifFacts = { takenAt: undefined, camera: undefined, location: undefined, edited: false };

const EDITORS = /photoshop|lightroom|snapseed|gimp|picsart|vsco|facetune|meitu|美图|醒图/i;

/** EXIF's orientation tag, 1 (upright) when absent or unreadable. */
export function exifOrientation(exif: Buffer | undefined): number {
  if (!exif) return 1;
  try {
    const o = exifReader(exif).Image?.Orientation;
    return typeof o === 'number' && o >= 1 && o <= 8 ? o : 1;
  } catch {
    return 1;
  }
}

function degrees(dms: unknown, ref: unknown, negative: string): number | undefined {
  if (!Array.isArray(dms) || dms.length === 0 || !dms.every((x) => typeof x === 'number' && Number.isFinite(x))) return undefined;
  const [d = 0, m = 0, s = 0] = dms as number[];
  const value = d + m / 60 + s / 3600;
  return ref === negative ? -value : value;
}

function cameraName(make: unknown, model: unknown): string | undefined {
  const clean = (v: unknown) => (typeof v === 'string' ? v.replace(/\0/g, '').trim() : '');
  const mk = clean(make);
  const md = clean(model);
  if (!md) return mk || undefined;
  const name = mk && !md.toLowerCase().startsWith(mk.split(' ')[0]!.toLowerCase()) ? `${mk} ${md}` : md;
  return name.slice(0, 128);
}

/** Broken EXIF must not reject an otherwise good photo: anything unreadable is simply unknown. */
export function readExif(exif: Buffer | undefined): ExifFacts {
  if (!exif) return NONE;
  let tags: ReturnType<typeof exifReader>;
  try {
    tags = exifReader(exif);
  } catch {
    return NONE;
  }
  const t = tags.Photo?.DateTimeOriginal ?? tags.Image?.DateTime;
  const gps = tags.GPSInfo;
  const lat = degrees(gps?.GPSLatitude, gps?.GPSLatitudeRef, 'S');
  const lon = degrees(gps?.GPSLongitude, gps?.GPSLongitudeRef, 'W');
  // 0,0 is what cameras without a fix often write; a photo in the Gulf of Guinea is rarer than that bug.
  const located = lat !== undefined && lon !== undefined && Math.abs(lat) <= 90 && Math.abs(lon) <= 180 && (lat !== 0 || lon !== 0);
  return {
    takenAt: t instanceof Date && !Number.isNaN(t.getTime()) ? t : undefined,
    camera: cameraName(tags.Image?.Make, tags.Image?.Model),
    location: located ? { lat, lon } : undefined,
    edited: typeof tags.Image?.Software === 'string' && EDITORS.test(tags.Image.Software),
  };
}
