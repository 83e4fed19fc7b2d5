/**
 * Resampling of 8-bit RGB computed the way Pillow's `Image.resize(size, BICUBIC | BILINEAR)` computes it
 * (Pillow's libImaging/Resample.c): a separable filter (Keys cubic with a = -0.5, or a triangle) widened
 * by the scale factor when shrinking, 22-bit fixed-point weights, a horizontal pass into a clipped 8-bit buffer, then a vertical
 * pass. Chinese-CLIP's transform (torchvision Resize on a PIL image) and its Hugging Face image
 * processor both resize this way, so the same pixels in give the same tensor out; libvips's cubic
 * kernel differs by up to 0.37 mean (normalised units) on upscaled text.
 */

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);

export type ResampleFilter = 'bicubic' | 'bilinear';

const FILTERS: Record<ResampleFilter, { support: number; fn: (x: number) => number }> = {
  bicubic: {
    support: 2,
    fn: (x) => {
      const a = -0.5;
      const ax = Math.abs(x);
      if (ax < 1) return ((a + 2) * ax - (a + 3)) * ax * ax + 1;
      if (ax < 2) return (((ax - 5) * ax + 8) * ax - 4) * a;
      return 0;
    },
  },
  bilinear: { support: 1, fn: (x) => Math.max(0, 1 - Math.abs(x)) },
};

/** Per output pixel: the first source index, the tap count, and integer weights (ksize per pixel). */
interface Coefficients {
  bounds: Int32Array;
  weights: Int32Array;
  ksize: number;
}

function coefficients(inSize: number, outSize: number, filter: ResampleFilter): Coefficients {
  const { support: base, fn } = FILTERS[filter];
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = base * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C's (int) cast truncates toward zero; both ends are clamped to the image right after.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let sum = 0;
    for (let x = 0; x < xmax; x++) {
      const w = fn((x + xmin - center + 0.5) / filterScale);
      k[x] = w;
      sum += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = sum !== 0 ? k[x]! / sum : k[x]!;
      weights[xx * ksize + x] = w < 0 ? Math.trunc(-0.5 + w * ONE) : Math.trunc(0.5 + w * ONE);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { bounds, weights, ksize };
}

function clip8(v: number): number {
  if (v >= ONE * 256) return 255;
  if (v <= 0) return 0;
  return v >> PRECISION_BITS;
}

const coefficientCache = new Map<string, Coefficients>();

/** The same sizes recur for every photo of a camera; their weights are computed once. */
function cachedCoefficients(inSize: number, outSize: number, filter: ResampleFilter): Coefficients {
  const key = `${filter}:${inSize}>${outSize}`;
  let c = coefficientCache.get(key);
  if (!c) {
    if (coefficientCache.size > 256) coefficientCache.clear();
    c = coefficients(inSize, outSize, filter);
    coefficientCache.set(key, c);
  }
  return c;
}

export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Pillow's ImagingResampleHorizontal_8bpc for RGB: every row, each output pixel a weighted sum along it. */
function horizontalPass(src: Uint8Array, width: number, height: number, outWidth: number, c: Coefficients): Uint8Array {
  const { bounds, weights, ksize } = c;
  const out = new Uint8Array(outWidth * height * 3);
  for (let y = 0; y < height; y++) {
    const row = y * width * 3;
    let o = y * outWidth * 3;
    for (let xx = 0; xx < outWidth; xx++) {
      const taps = bounds[xx * 2 + 1]!;
      let p = row + bounds[xx * 2]! * 3;
      let k = xx * ksize;
      let r = HALF;
      let g = HALF;
      let b = HALF;
      for (let x = 0; x < taps; x++, p += 3, k++) {
        const wt = weights[k]!;
        r = (r + Math.imul(src[p]!, wt)) | 0;
        g = (g + Math.imul(src[p + 1]!, wt)) | 0;
        b = (b + Math.imul(src[p + 2]!, wt)) | 0;
      }
      out[o++] = clip8(r);
      out[o++] = clip8(g);
      out[o++] = clip8(b);
    }
  }
  return out;
}

/** Pillow's ImagingResampleVertical_8bpc for RGB: every column, each output row a weighted sum down it. */
function verticalPass(src: Uint8Array, width: number, outHeight: number, c: Coefficients): Uint8Array {
  const { bounds, weights, ksize } = c;
  const stride = width * 3;
  const out = new Uint8Array(width * outHeight * 3);
  for (let yy = 0; yy < outHeight; yy++) {
    const first = bounds[yy * 2]! * stride;
    const taps = bounds[yy * 2 + 1]!;
    const k0 = yy * ksize;
    let o = yy * stride;
    for (let x = 0; x < stride; x += 3) {
      let r = HALF;
      let g = HALF;
      let b = HALF;
      let p = first + x;
      for (let y = 0; y < taps; y++, p += stride) {
        const wt = weights[k0 + y]!;
        r = (r + Math.imul(src[p]!, wt)) | 0;
        g = (g + Math.imul(src[p + 1]!, wt)) | 0;
        b = (b + Math.imul(src[p + 2]!, wt)) | 0;
      }
      out[o++] = clip8(r);
      out[o++] = clip8(g);
      out[o++] = clip8(b);
    }
  }
  return out;
}

/** Resizes interleaved RGB (3 bytes a pixel) to `outWidth`×`outHeight`: horizontal pass first, as Pillow does. */
export function pilResizeRgb(src: RgbImage, outWidth: number, outHeight: number, filter: ResampleFilter): RgbImage {
  const { width, height } = src;
  if (src.data.length !== width * height * 3) throw new Error(`expected ${width * height * 3} bytes of RGB, got ${src.data.length}`);
  const wide = outWidth === width ? src.data : horizontalPass(src.data, width, height, outWidth, cachedCoefficients(width, outWidth, filter));
  const data = outHeight === height ? wide : verticalPass(wide, outWidth, outHeight, cachedCoefficients(height, outHeight, filter));
  return { data, width: outWidth, height: outHeight };
}

/** Pillow's `Image.crop` for a box inside the image. */
export function cropRgb(src: RgbImage, left: number, top: number, width: number, height: number): RgbImage {
  if (left < 0 || top < 0 || left + width > src.width || top + height > src.height) throw new Error('crop box outside the image');
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * src.width + left) * 3;
    out.set(src.data.subarray(from, from + width * 3), y * width * 3);
  }
  return { data: out, width, height };
}
