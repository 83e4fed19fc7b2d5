import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from './env';

/** A real HEIC (HEVC) written by libheif's heif-enc from JPEG or PNG files: several inputs make a multi-image file, the first primary. */
export async function heicFrom(images: Buffer[], quality = 85): Promise<Buffer> {
  const dir = await tempDir('heic');
  const inputs = await Promise.all(
    images.map(async (data, i) => {
      const file = path.join(dir, `in-${i}.${data[0] === 0xff ? 'jpg' : 'png'}`);
      await writeFile(file, data);
      return file;
    }),
  );
  const out = path.join(dir, 'out.heic');
  await promisify(execFile)('heif-enc', ['-q', String(quality), '-o', out, ...inputs]);
  return readFile(out);
}
