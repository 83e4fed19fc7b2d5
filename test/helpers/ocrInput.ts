import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { decodeOcrInput } from '../../src/images/decode';
import type { RgbImage } from '../../src/ocr/textReader';

/** An image as the OCR stage reads it: the 1280 px input ingest stores, decoded. */
export async function asStageReads(file: string): Promise<RgbImage> {
  const { data, info } = await sharp(await decodeOcrInput(await readFile(file), 1280))
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}
