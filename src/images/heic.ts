import decodeHeicFile from 'heic-decode';
import type { Metadata } from 'sharp';

/**
 * HEIC (HEVC in HEIF), the iPhone's default. sharp's prebuilt libvips reads HEIF containers but has no
 * HEVC decoder, so the pixels come from libheif compiled to WebAssembly (heic-decode): no native build,
 * nothing to download, and a corrupt file fails inside the WebAssembly sandbox. It decodes the primary
 * image at full size (no shrink-on-load) and synchronously, so it runs in decode processes only.
 */
export function isHeic(meta: Pick<Metadata, 'format' | 'compression'>): boolean {
  return meta.format === 'heif' && meta.compression === 'hevc';
}

const HEIF_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1', 'avif']);

/** The file says it is HEIF (its ftyp box), whether or not the rest of it is readable. */
export function looksLikeHeif(data: Buffer): boolean {
  return data.length >= 12 && data.toString('latin1', 4, 8) === 'ftyp' && HEIF_BRANDS.has(data.toString('latin1', 8, 12));
}

export async function decodeHeic(data: Buffer): Promise<{ data: Buffer; width: number; height: number; channels: 4 }> {
  const image = await decodeHeicFile({ buffer: data });
  return { data: Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), width: image.width, height: image.height, channels: 4 };
}

interface Box {
  type: string;
  /** Where the box's payload starts and ends. */
  start: number;
  end: number;
}

function* boxes(data: Buffer, start: number, end: number): Generator<Box> {
  let at = start;
  while (at + 8 <= end) {
    let size = data.readUInt32BE(at);
    const type = data.toString('latin1', at + 4, at + 8);
    let header = 8;
    if (size === 1) {
      if (at + 16 > end) return;
      size = Number(data.readBigUInt64BE(at + 8));
      header = 16;
    } else if (size === 0) size = end - at;
    if (size < header || at + size > end) return;
    yield { type, start: at + header, end: at + size };
    at += size;
  }
}

function child(data: Buffer, parent: Box | undefined, type: string, fullBox = false): Box | undefined {
  if (!parent) return undefined;
  for (const b of boxes(data, parent.start + (fullBox ? 4 : 0), parent.end)) if (b.type === type) return b;
  return undefined;
}

/**
 * Whether the file carries HEIF's own rotation or mirroring (irot, imir), which libheif applies while
 * decoding. The HEIF standard makes these, not EXIF, the orientation: iPhones write both and agree,
 * but converters that only copy EXIF (libheif 1.15's heif-enc, for one) leave EXIF's orientation as the
 * only one, and a photo taken upright would then be indexed on its side.
 */
export function heifHasTransform(data: Buffer): boolean {
  const meta = [...boxes(data, 0, data.length)].find((b) => b.type === 'meta');
  const properties = child(data, child(data, meta, 'iprp', true), 'ipco');
  if (!properties) return false;
  for (const b of boxes(data, properties.start, properties.end)) if (b.type === 'irot' || b.type === 'imir') return true;
  return false;
}
