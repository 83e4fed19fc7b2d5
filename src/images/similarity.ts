import sharp from 'sharp';

type Raw = { data: Buffer; width: number; height: number; channels: 1 | 2 | 3 | 4 };

/** Grey levels a 9x8 picture must span for its hash to say anything: a flat one's bits are its noise. */
const MIN_CONTRAST = 8;

/**
 * A 64-bit difference hash (dHash): the picture shrunk to 9x8 grey, one bit per neighbouring pair
 * saying which is brighter. Re-encoding, resizing and small brightness shifts keep it within a few
 * bits; a different picture differs in about half. Hex, 16 digits; null for a picture too flat to
 * hash (a clear sky, a blank page), whose bits would match every other flat picture.
 */
export async function differenceHash(image: Raw): Promise<string | null> {
  const px = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } })
    .greyscale()
    .resize(9, 8, { fit: 'fill', kernel: 'cubic' })
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

const LAPLACIAN = { width: 3, height: 3, kernel: [0, 1, 0, 1, -4, 1, 0, 1, 0], offset: 128 };

/** Variance of the Laplacian of the grey picture: blurred copies score low, the sharpest of a burst highest. */
export async function sharpness(image: Raw): Promise<number> {
  const px = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } })
    .greyscale()
    .convolve(LAPLACIAN)
    .raw()
    .toBuffer();
  let sum = 0;
  let sq = 0;
  for (const v of px) {
    sum += v - 128;
    sq += (v - 128) ** 2;
  }
  const mean = sum / px.length;
  return sq / px.length - mean * mean;
}

/** Postgres keeps 64 bits as a signed BIGINT. */
export const phashToStored = (hex: string): bigint => BigInt.asIntN(64, BigInt(`0x${hex}`));
export const phashFromStored = (stored: bigint): string => BigInt.asUintN(64, stored).toString(16).padStart(16, '0');
