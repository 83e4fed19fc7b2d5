/**
 * Resampling of 8-bit RGB computed the way Pillow's `Image.resize(size, BICUBIC | BILINEAR)` computes it
 * (Pillow's libImaging/Resample.c): a separable filter (Keys cubic with a = -0.5, or a triangle) widened
 * by the scale factor when shrinking, 22-bit fixed-point weights, a horizontal pass into a clipped 8-bit
 * buffer, then a vertical pass. Chinese-CLIP's transform (torchvision Resize on a PIL image) and its
 * Hugging Face image processor both resize this way, so the same pixels in give the same tensor out;
 * libvips's cubic kernel differs by up to 0.37 mean (normalised units) on upscaled text. The weights are
 * computed here; the passes run in WebAssembly SIMD (pilResample.wat), with the same integer arithmetic,
 * five times faster than they ran in JavaScript.
 */

import { PIL_RESAMPLE_WASM } from './generated/pilResample';

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;

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

interface ResampleModule {
  memory: WebAssembly.Memory;
  horizontal(src: number, width: number, height: number, out: number, outWidth: number, bounds: number, weights: number, ksize: number): void;
  vertical(src: number, stride: number, outHeight: number, out: number, bounds: number, weights: number, ksize: number): void;
}

let compiled: WebAssembly.Module | undefined;
let resampleModule: ResampleModule | undefined;

/** Memory an instance keeps between images; one grown past it for a huge image is dropped after that image. */
const KEPT_MEMORY_BYTES = 64 * 2 ** 20;

function resampler(): ResampleModule {
  // Compiled on first use: a process that never resizes (a CLI, the encoder service) does not pay for it.
  compiled ??= new WebAssembly.Module(PIL_RESAMPLE_WASM);
  resampleModule ??= new WebAssembly.Instance(compiled).exports as unknown as ResampleModule;
  return resampleModule;
}

/** Offsets of consecutive buffers in the module's memory, 16-byte aligned, each followed by the 16 bytes of slack the passes use. */
function layOut(sizes: readonly number[], memory: WebAssembly.Memory): number[] {
  let end = 0;
  const offsets = sizes.map((size) => {
    const at = end;
    end += (size + 16 + 15) & ~15;
    return at;
  });
  const missing = end - memory.buffer.byteLength;
  if (missing > 0) memory.grow(Math.ceil(missing / 65536));
  return offsets;
}

/** Resizes interleaved RGB (3 bytes a pixel) to `outWidth`×`outHeight`: horizontal pass first, as Pillow does. */
export function pilResizeRgb(src: RgbImage, outWidth: number, outHeight: number, filter: ResampleFilter): RgbImage {
  const { width, height } = src;
  if (src.data.length !== width * height * 3) throw new Error(`expected ${width * height * 3} bytes of RGB, got ${src.data.length}`);
  const across = outWidth === width ? null : cachedCoefficients(width, outWidth, filter);
  const down = outHeight === height ? null : cachedCoefficients(height, outHeight, filter);
  if (!across && !down) return { data: src.data, width, height };
  const m = resampler();
  const [input, wide, out, acrossBounds, acrossWeights, downBounds, downWeights] = layOut(
    [
      src.data.length,
      across ? outWidth * height * 3 : 0,
      down ? outWidth * outHeight * 3 : 0,
      across?.bounds.byteLength ?? 0,
      across?.weights.byteLength ?? 0,
      down?.bounds.byteLength ?? 0,
      down?.weights.byteLength ?? 0,
    ],
    m.memory,
  ) as [number, number, number, number, number, number, number];
  const heap = m.memory.buffer;
  const put = (at: number, values: Int32Array) => new Int32Array(heap, at, values.length).set(values);
  new Uint8Array(heap).set(src.data, input);
  if (across) {
    put(acrossBounds, across.bounds);
    put(acrossWeights, across.weights);
    m.horizontal(input, width, height, wide, outWidth, acrossBounds, acrossWeights, across.ksize);
  }
  const rows = across ? wide : input;
  if (down) {
    put(downBounds, down.bounds);
    put(downWeights, down.weights);
    m.vertical(rows, outWidth * 3, outHeight, out, downBounds, downWeights, down.ksize);
  }
  const data = new Uint8Array(heap, down ? out : rows, outWidth * outHeight * 3).slice();
  if (heap.byteLength > KEPT_MEMORY_BYTES) resampleModule = undefined;
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
