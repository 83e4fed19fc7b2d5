import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { mulberry32 } from '../scripts/lib/random';
import { decodeImage } from '../src/images/decode';
import type { ImagePreprocessing, PixelTensor } from '../src/models/preprocess';

/** Photo-like JPEGs: blurred noise compresses like a photo (~200 KB at 2 MP), unlike flat colour or raw noise. */
export async function writePhotoLikeJpegs(dir: string, count: number, width: number, height: number, seed = 1): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const hue = (seed * 97 + i * 37) % 255;
    const noise = await sharp({ create: { width, height, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 90 + (hue % 80), sigma: 30 } } })
      .png()
      .toBuffer();
    const file = path.join(dir, `photo-${seed}-${i}.jpg`);
    await writeFile(file, await sharp(noise).blur(2).jpeg({ quality: 85 }).toBuffer());
    files.push(file);
  }
  return files;
}

/** The encoder's input for each file, decoded as ingest decodes it. */
export function decodeTensors(files: readonly string[], prep: ImagePreprocessing): Promise<PixelTensor[]> {
  return Promise.all(files.map(async (f) => (await decodeImage(await readFile(f), prep)).tensor));
}

/** Smooth colour fields with grain, like a photo, as raw RGB (the parity test and bench:models encode it as they need). */
export function smoothPhoto(width: number, height: number, seed: number): Sharp {
  const rand = mulberry32(seed);
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        const v = 128 + 90 * Math.sin(x / (23 + 9 * c) + c) * Math.cos(y / (31 + 5 * c) - c) + (rand() - 0.5) * 40;
        px[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return sharp(px, { raw: { width, height, channels: 3 } });
}
