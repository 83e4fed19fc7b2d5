import sharp from 'sharp';
import { COLOURS, type ColourConcept } from '../../scripts/test-pack/concepts';

export function colour(key: string): ColourConcept {
  const c = COLOURS.find((x) => x.key === key);
  if (!c) throw new Error(`unknown test colour ${key}`);
  return c;
}

/** A solid image in one of the test pack's colours, with a little noise so every file differs. */
export async function colourImage(
  key: string,
  opts: { width?: number; height?: number; format?: 'png' | 'jpeg' | 'webp'; seed?: number } = {},
): Promise<Buffer> {
  const { width = 96, height = 64, format = 'png', seed = 0 } = opts;
  const [r, g, b] = colour(key).rgb;
  const raw = Buffer.alloc(width * height * 3);
  let s = seed * 7919 + 1;
  for (let i = 0; i < width * height; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const jitter = (s % 9) - 4;
    raw[i * 3] = Math.max(0, Math.min(255, r + jitter));
    raw[i * 3 + 1] = Math.max(0, Math.min(255, g + jitter));
    raw[i * 3 + 2] = Math.max(0, Math.min(255, b + jitter));
  }
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .toFormat(format)
    .toBuffer();
}

/** Preprocessing for decode tests: an 8x8 tensor, raw 0..1 values. */
export const TINY_PREP = {
  file: 'x',
  input: 'pixel_values',
  output: 'image_embeds',
  size: 8,
  resize: 'squash' as const,
  interpolation: 'bicubic' as const,
  mean: [0, 0, 0] as [number, number, number],
  std: [1, 1, 1] as [number, number, number],
};

/** A JPEG of a colour taken at lat/lon (EXIF GPS, degrees minutes seconds as rationals). */
export async function photoAt(lat: number, lon: number, seed: number, colourKey = 'red'): Promise<Buffer> {
  const dms = (v: number) => {
    const a = Math.abs(v);
    const d = Math.floor(a);
    const m = Math.floor((a - d) * 60);
    return `${d}/1 ${m}/1 ${Math.round(((a - d) * 60 - m) * 60 * 100)}/100`;
  };
  const gps = { GPSLatitudeRef: lat >= 0 ? 'N' : 'S', GPSLatitude: dms(lat), GPSLongitudeRef: lon >= 0 ? 'E' : 'W', GPSLongitude: dms(lon) };
  return sharp(await colourImage(colourKey, { seed }))
    .withExif({ IFD3: gps })
    .jpeg()
    .toBuffer();
}
