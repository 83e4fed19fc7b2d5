import sharp from 'sharp';
import { toPixelTensor, rgbToChw } from '../../src/models/preprocess';
import { l2NormalizeRows } from '../../src/models/vectorMath';

const prep = { file: 'x.onnx', input: 'pixel_values', output: 'image_embeds', size: 4, resize: 'squash' as const, interpolation: 'bicubic' as const, mean: [0.5, 0.5, 0.5] as [number, number, number], std: [0.5, 0.25, 0.5] as [number, number, number] };

describe('preprocessing', () => {
  test('rgbToChw makes planar, normalised floats', () => {
    const rgb = Buffer.from([255, 0, 128, 0, 255, 0, 0, 0, 0, 255, 255, 255]);
    const chw = rgbToChw(rgb, 2, [0.5, 0.5, 0.5], [0.5, 0.25, 0.5]);
    expect(Array.from(chw.slice(0, 4))).toEqual([1, -1, -1, 1]);
    expect(chw[4]).toBeCloseTo(-2);
    expect(chw[5]).toBeCloseTo(2);
    expect(chw[8]).toBeCloseTo(128 / 255 / 0.5 - 1);
    expect(() => rgbToChw(rgb.subarray(1), 2, [0, 0, 0], [1, 1, 1])).toThrow(/expected 12 bytes/);
  });

  /** A 3:1 image: red | green | blue thirds. */
  const stripes = () =>
    sharp({ create: { width: 30, height: 10, channels: 3, background: '#000' } }).composite([
      { input: { create: { width: 10, height: 10, channels: 3, background: '#ff0000' } }, left: 0, top: 0 },
      { input: { create: { width: 10, height: 10, channels: 3, background: '#00ff00' } }, left: 10, top: 0 },
      { input: { create: { width: 10, height: 10, channels: 3, background: '#0000ff' } }, left: 20, top: 0 },
    ]).png();

  const redPlaneMean = (data: Float32Array) => data.slice(0, 16).reduce((a, b) => a + b, 0) / 16;

  test('squash keeps the whole frame; cover crops to the centre', async () => {
    const squash = await toPixelTensor(sharp(await stripes().toBuffer()), prep);
    const cover = await toPixelTensor(sharp(await stripes().toBuffer()), { ...prep, resize: 'cover' });
    expect(squash.data).toHaveLength(3 * 16);
    // Squashed, a third of the frame is red; cropped to the centre, none is.
    expect(redPlaneMean(squash.data)).toBeGreaterThan(-0.6);
    expect(redPlaneMean(cover.data)).toBeCloseTo(-1, 1);
  });

  test('alpha is flattened onto white', async () => {
    const transparent = await sharp({ create: { width: 8, height: 8, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer();
    const t = await toPixelTensor(sharp(transparent), prep);
    expect(Array.from(t.data.slice(0, 16)).every((x) => Math.abs(x - 1) < 1e-6)).toBe(true);
  });

  test('l2NormalizeRows makes unit rows and leaves zero rows at zero', () => {
    const rows = l2NormalizeRows(Float32Array.from([3, 4, 0, 0]), 2, 2);
    expect(Array.from(rows[0]!)).toEqual([expect.closeTo(0.6), expect.closeTo(0.8)]);
    expect(Array.from(rows[1]!)).toEqual([0, 0]);
    expect(() => l2NormalizeRows(new Float32Array(3), 2, 2)).toThrow();
  });
});
