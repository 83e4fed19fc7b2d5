import { execFile } from 'node:child_process';
import { pilResizeRgb, type ResampleFilter, type RgbImage } from '../../src/models/pilResize';

/** Debian's python3 with python3-pil (.ci/run installs it), as in the parity test. */
const PYTHON = process.env.REFERENCE_PYTHON ?? '/usr/bin/python3';

/** Pillow's own Image.resize of raw RGB bytes: the oracle, byte for byte. */
const PILLOW_RESIZE = `
import sys
from PIL import Image
w, h, ow, oh = map(int, sys.argv[1:5])
resample = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR}[sys.argv[5]]
image = Image.frombytes("RGB", (w, h), sys.stdin.buffer.read())
sys.stdout.buffer.write(image.resize((ow, oh), resample).tobytes())
`;

function pillowResize(src: RgbImage, outWidth: number, outHeight: number, filter: ResampleFilter): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      PYTHON,
      ['-c', PILLOW_RESIZE, String(src.width), String(src.height), String(outWidth), String(outHeight), filter],
      { encoding: 'buffer', maxBuffer: 2 ** 30 },
      (e, stdout) => (e ? reject(new Error(`Pillow failed: ${e.message}`)) : resolve(stdout)),
    );
    child.stdin!.end(Buffer.from(src.data));
  });
}

/** Noise with runs of black and white: sums that clip at both ends of a byte, as hard edges do. */
function noise(width: number, height: number, seed: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    data[i] = i % 97 < 20 ? (i % 2 ? 255 : 0) : s >>> 24;
  }
  return { data, width, height };
}

describe("Pillow's resampling, run in WebAssembly", () => {
  test.each([
    [801, 599, 224, 224, 'bicubic'],
    [3, 5, 224, 224, 'bicubic'],
    [1, 1, 7, 3, 'bicubic'],
    [640, 480, 640, 97, 'bicubic'],
    [640, 480, 101, 480, 'bicubic'],
    [1000, 750, 224, 224, 'bilinear'],
    [50, 30, 333, 211, 'bilinear'],
  ] as const)('%ix%i to %ix%i (%s) gives Pillow’s bytes', async (w, h, ow, oh, filter) => {
    const src = noise(w, h, w * 7 + h);
    const ours = pilResizeRgb(src, ow, oh, filter);
    expect([ours.width, ours.height]).toEqual([ow, oh]);
    expect(Buffer.from(ours.data).equals(await pillowResize(src, ow, oh, filter))).toBe(true);
  });

  test('the same size is the same pixels', () => {
    const src = noise(40, 30, 1);
    expect(pilResizeRgb(src, 40, 30, 'bicubic').data).toBe(src.data);
  });

  test('an image larger than the memory kept between images, then a small one: both as Pillow resizes them', async () => {
    // Bands of one noise strip (filling 66 MB a byte at a time takes seconds under Jest).
    const strip = noise(4800, 47, 3);
    const huge = { data: new Uint8Array(4800 * 4700 * 3), width: 4800, height: 4700 };
    for (let y = 0; y < 4700; y += 47) huge.data.set(strip.data, y * 4800 * 3);
    const small = noise(300, 200, 4);
    expect(Buffer.from(pilResizeRgb(huge, 224, 224, 'bicubic').data).equals(await pillowResize(huge, 224, 224, 'bicubic'))).toBe(true);
    expect(Buffer.from(pilResizeRgb(small, 224, 224, 'bicubic').data).equals(await pillowResize(small, 224, 224, 'bicubic'))).toBe(true);
  });
});
