import sharp from 'sharp';
import { smoothPhoto, textImage } from '../../bench/fixtures';
import { similarityOf } from '../../src/images/similarity';

/** The measures as first written, as whole libvips pipelines: what the stored hashes and scores were made with. */
async function libvipsMeasures(image: { data: Buffer; width: number; height: number; channels: 3 }) {
  const raw = { raw: { width: image.width, height: image.height, channels: image.channels } };
  const px = await sharp(image.data, raw).greyscale().resize(9, 8, { fit: 'fill', kernel: 'cubic' }).raw().toBuffer();
  let bits = 0n;
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) bits = (bits << 1n) | (px[y * 9 + x]! > px[y * 9 + x + 1]! ? 1n : 0n);
  const laplacian = await sharp(image.data, raw)
    .greyscale()
    .convolve({ width: 3, height: 3, kernel: [0, 1, 0, 1, -4, 1, 0, 1, 0], offset: 128 })
    .raw()
    .toBuffer();
  const values = Array.from(laplacian, (v) => v - 128);
  const mean = values.reduce((a, v) => a + v, 0) / values.length;
  return { phash: bits.toString(16).padStart(16, '0'), sharpness: values.reduce((a, v) => a + v * v, 0) / values.length - mean * mean };
}

test('hash and sharpness, from one grey conversion, equal what libvips pipelines computed, so stored values stay comparable', async () => {
  const pictures = [
    smoothPhoto(512, 384, 1).jpeg(),
    smoothPhoto(301, 77, 2).jpeg({ quality: 40 }),
    sharp(await textImage(['发票', '合计 56元'])),
    // Hard black-and-white edges clip the Laplacian at both ends of a byte.
    sharp({ create: { width: 64, height: 40, channels: 3, background: '#fff' } })
      .composite([{ input: { create: { width: 20, height: 40, channels: 3, background: '#000' } }, left: 22, top: 0 }])
      .png(),
  ];
  for (const picture of pictures) {
    const { data, info } = await sharp(await picture.toBuffer())
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const image = { data, width: info.width, height: info.height, channels: 3 as const };
    const expected = await libvipsMeasures(image);
    expect(await similarityOf(image)).toEqual(expected);
  }
});
