import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
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
