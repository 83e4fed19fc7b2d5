import sharp from 'sharp';

type Raw = { data: Buffer; width: number; height: number; channels: 1 | 2 | 3 | 4 };

/** Grey levels a 9x8 picture must span for its hash to say anything: a flat one's bits are its noise. */
const MIN_CONTRAST = 8;

type Grey = { data: Buffer; width: number; height: number };

/** The picture as one grey byte a pixel (libvips's luminance, as both measures below have always read it). */
async function greyOf(image: Raw): Promise<Grey> {
  const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } })
    .greyscale()
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/**
 * A 64-bit difference hash (dHash): the picture shrunk to 9x8 grey, one bit per neighbouring pair
 * saying which is brighter. Re-encoding, resizing and small brightness shifts keep it within a few
 * bits; a different picture differs in about half. Hex, 16 digits; null for a picture too flat to
 * hash (a clear sky, a blank page), whose bits would match every other flat picture.
 */
async function hashOfGrey(grey: Grey): Promise<string | null> {
  const px = await sharp(grey.data, { raw: { width: grey.width, height: grey.height, channels: 1 } })
    .resize(9, 8, { fit: 'fill', kernel: 'cubic' })
    .extractChannel(0)
    .raw()
    .toBuffer();
  if (Math.max(...px) - Math.min(...px) < MIN_CONTRAST) return null;
  let bits = 0n;
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) bits = (bits << 1n) | (px[y * 9 + x]! > px[y * 9 + x + 1]! ? 1n : 0n);
  return bits.toString(16).padStart(16, '0');
}

/** Bits two hashes differ in. */
export function hammingDistance(a: string, b: string): number {
  let x = BigInt(`0x${a}`) ^ BigInt(`0x${b}`);
  let n = 0;
  for (; x; x &= x - 1n) n++;
  return n;
}

/**
 * Variance of the Laplacian of the grey picture: blurred copies score low, the sharpest of a burst highest.
 * Computed here as libvips's `convolve` with kernel [0 1 0; 1 -4 1; 0 1 0] and offset 128 computes it (edges
 * repeated, each value clipped to a byte), so stored scores stay comparable; in JavaScript because that
 * pipeline cost more than the rest of the measure.
 */
function sharpnessOfGrey({ data: g, width: w, height: h }: Grey): number {
  let sum = 0;
  let sq = 0;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    const up = y > 0 ? row - w : row;
    const down = y < h - 1 ? row + w : row;
    for (let x = 0; x < w; x++) {
      const left = x > 0 ? x - 1 : x;
      const right = x < w - 1 ? x + 1 : x;
      const v = Math.min(255, Math.max(0, g[up + x]! + g[down + x]! + g[row + left]! + g[row + right]! - 4 * g[row + x]! + 128)) - 128;
      sum += v;
      sq += v * v;
    }
  }
  const n = w * h;
  const mean = sum / n;
  return sq / n - mean * mean;
}

/** Both measures near-duplicate finding keeps, from one grey conversion. */
export async function similarityOf(image: Raw): Promise<{ phash: string | null; sharpness: number }> {
  const grey = await greyOf(image);
  return { phash: await hashOfGrey(grey), sharpness: sharpnessOfGrey(grey) };
}

/** Postgres keeps 64 bits as a signed BIGINT. */
export const phashToStored = (hex: string): bigint => BigInt.asIntN(64, BigInt(`0x${hex}`));
export const phashFromStored = (stored: bigint): string => BigInt.asUintN(64, stored).toString(16).padStart(16, '0');
