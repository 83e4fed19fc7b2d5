import sharp from 'sharp';
import { TINY_PREP } from '../helpers/images';
import { decodeImage, decodeOcrInput, decodeSize, DEFAULT_DECODE_LIMITS, ImageRejected, probeImage } from '../../src/images/decode';

const prep = TINY_PREP;

describe('image decoding', () => {
  test('applies EXIF orientation and reads the capture time', async () => {
    // Stored 40x20 with orientation 6 (rotate 90° clockwise): shown as 20x40.
    const jpeg = await sharp({ create: { width: 40, height: 20, channels: 3, background: '#0f0' } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .withExif({ IFD2: { DateTimeOriginal: '2023:05:04 10:20:30' } })
      .toBuffer();
    const info = await probeImage(jpeg, { maxPixels: 1e6 });
    expect(info).toMatchObject({ mime: 'image/jpeg', width: 20, height: 40 });
    expect(info.takenAt?.getUTCFullYear()).toBe(2023);
    const decoded = await decodeImage(jpeg, prep);
    const preview = await sharp(decoded.preview).metadata();
    expect([preview.width, preview.height]).toEqual([20, 40]);
    expect(decoded.tensor.data).toHaveLength(3 * 8 * 8);
  });

  test("a fallback orientation (a camera raw's) turns an image that has none of its own; an image's own orientation wins", async () => {
    // 40x20, its left half red: turned 90° clockwise (6), the red is on top; its own 1 keeps it as stored.
    const stored = sharp({ create: { width: 40, height: 20, channels: 3, background: '#00f' } }).composite([
      { input: { create: { width: 20, height: 20, channels: 3, background: '#f00' } }, left: 0, top: 0 },
    ]);
    const bare = await stored.clone().jpeg().toBuffer();
    const tagged = await stored.clone().jpeg().withMetadata({ orientation: 1 }).toBuffer();
    const redAt = async (preview: Buffer, x: number, y: number) => {
      const { data, info } = await sharp(preview).raw().toBuffer({ resolveWithObject: true });
      const i = (y * info.width + x) * info.channels;
      return data[i]! > 200 && data[i + 2]! < 60;
    };
    const turned = await decodeImage(bare, prep, { ...DEFAULT_DECODE_LIMITS, fallbackOrientation: 6, ocrSide: 64 });
    expect(turned).toMatchObject({ width: 20, height: 40 });
    expect([await redAt(turned.preview, 10, 5), await redAt(turned.preview, 10, 35)]).toEqual([true, false]);
    expect(await sharp(turned.ocrInput).metadata()).toMatchObject({ width: 20, height: 40 });
    const own = await decodeImage(tagged, prep, { ...DEFAULT_DECODE_LIMITS, fallbackOrientation: 6 });
    expect(own).toMatchObject({ width: 40, height: 20 });
    expect([await redAt(own.preview, 5, 10), await redAt(own.preview, 35, 10)]).toEqual([true, false]);
  });

  test("one decode size serves every derivative: 1/factor for the tensor and preview, OCR's input where that is larger", () => {
    // 12 MP: 1/4 (1000×750) would do for the tensor and preview; OCR's 1280 px is larger, so that is decoded.
    expect(decodeSize(4000, 3000, 224, 512)).toEqual({ width: 1000, height: 750 });
    expect(decodeSize(4000, 3000, 224, 512, 1280)).toEqual({ width: 1280, height: 960 });
    expect(decodeSize(3000, 4000, 224, 512, 1280)).toEqual({ width: 960, height: 1280 });
    // A panorama whose 1/8 is still longer than OCR's side: OCR's input is resized from it.
    expect(decodeSize(16000, 2000, 224, 512, 1280)).toEqual({ width: 2000, height: 250 });
    // Smaller than OCR's side: decoded whole, as before.
    expect(decodeSize(1000, 800, 224, 512, 1280)).toEqual({ width: 1000, height: 800 });
  });

  test("OCR's input, made from the one decode, is upright at 1280 px and the picture OCR read from the file before", async () => {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="2600" height="2000"><rect width="100%" height="100%" fill="#8ac"/><circle cx="700" cy="800" r="500" fill="#d42"/><text x="1200" y="1500" font-size="300" fill="#000">发票 128</text></svg>`;
    const stored = await sharp(Buffer.from(svg)).flatten().jpeg({ quality: 90 }).withMetadata({ orientation: 6 }).toBuffer();
    const decoded = await decodeImage(stored, prep, { ...DEFAULT_DECODE_LIMITS, ocrSide: 1280 });
    expect(decoded).toMatchObject({ width: 2000, height: 2600 });
    const fromDecode = await sharp(decoded.ocrInput).raw().toBuffer({ resolveWithObject: true });
    const fromFile = await sharp(await decodeOcrInput(stored, 1280))
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect(fromDecode.info).toMatchObject({ width: 985, height: 1280, channels: 3 });
    expect(fromFile.info).toMatchObject({ width: fromDecode.info.width, height: fromDecode.info.height });
    let sum = 0;
    for (let i = 0; i < fromFile.data.length; i++) sum += Math.abs(fromDecode.data[i]! - fromFile.data[i]!);
    // Levels of a byte: two JPEG round trips and two resampling kernels apart, not a different picture.
    expect(sum / fromFile.data.length).toBeLessThan(2);
  });

  test('bounds previews and thumbnails, and keeps small images small', async () => {
    const big = await sharp({ create: { width: 1600, height: 800, channels: 3, background: '#00f' } })
      .jpeg()
      .toBuffer();
    const d = await decodeImage(big, prep);
    expect(await sharp(d.preview).metadata()).toMatchObject({ width: 512, height: 256, format: 'jpeg' });
    expect(await sharp(d.thumbnail).metadata()).toMatchObject({ width: 256, height: 128 });
    const small = await decodeImage(
      await sharp({ create: { width: 30, height: 10, channels: 3, background: '#00f' } })
        .png()
        .toBuffer(),
      prep,
    );
    expect(await sharp(small.thumbnail).metadata()).toMatchObject({ width: 30, height: 10 });
  });

  test('animated GIFs use their first frame; TIFF and AVIF are accepted', async () => {
    for (const format of ['gif', 'tiff', 'avif'] as const) {
      const data = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#f00' } })
        .toFormat(format)
        .toBuffer();
      const d = await decodeImage(data, prep);
      expect(d.width).toBe(16);
    }
  });

  test('rejections carry a reason', async () => {
    await expect(probeImage(Buffer.alloc(0), { maxPixels: 10 })).rejects.toMatchObject({ reason: 'empty' });
    await expect(probeImage(Buffer.from('GIF89a broken'), { maxPixels: 10 })).rejects.toBeInstanceOf(ImageRejected);
    const png = await sharp({ create: { width: 10, height: 10, channels: 3, background: '#f00' } })
      .png()
      .toBuffer();
    await expect(probeImage(png, { maxPixels: 99 })).rejects.toMatchObject({ reason: 'too_large' });
  });
});
