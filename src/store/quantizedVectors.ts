import { INT8_DOTS_WASM } from './generated/int8Dots';

/** How far below the n-th best int8 score a candidate may score, in quantization steps (see mayBeBest). */
const ERROR_STEPS = 2;
/** The most a WebAssembly memory can hold (65,536 pages of 64 KiB): it bounds the rows, and a search's scratch past them. */
export const WASM_MEMORY_MAX_BYTES = 2 ** 32;

interface DotsModule {
  memory: WebAssembly.Memory;
  dots(codes: number, stride: number, query: number, rows: number, count: number, out: number): void;
}

let compiled: WebAssembly.Module | undefined;

/**
 * An int8 copy of every vector in a collection, by label, with one scale per vector: 1 byte a dimension, a quarter of
 * the float vectors, so a search can score all of a filter's points without asking hnswlib for each one (32 µs a
 * vector through hnswlib-node's getPoint, which builds a JS array). Its scores are within about 1e-3 of the float
 * ones, so they choose candidates; the candidates are then scored again exactly. The rows live in the memory of a
 * WebAssembly module (int8Dots.wat) that scores them 16 bytes at a time; the scratch of a search lies past them.
 */
export class QuantizedVectors {
  /** Bytes a row: dim rounded up to whole 16-byte vectors (the query is zero past dim). */
  private readonly stride: number;
  /** The largest query value: no row's sum of 127 × it per byte can overflow an int32. */
  private readonly queryMax: number;
  private readonly wasm: DotsModule;
  private scales: Float32Array;
  /** label -> row, -1 where the label has none. */
  private rowOf: Int32Array;
  private readonly freeRows: number[] = [];
  private rows = 0;
  /**
   * The most rows the memory holds with room left for a search that scores all of them: its query (int16), the
   * rows' numbers and their scores (4 bytes each) lie past the rows. About 8.3 million at 512-d.
   */
  readonly maxRows: number;
  private readonly maxBytes: number;

  constructor(
    readonly dim: number,
    capacity = 1024,
    maxBytes = WASM_MEMORY_MAX_BYTES,
  ) {
    this.maxBytes = Math.min(maxBytes, WASM_MEMORY_MAX_BYTES);
    this.stride = Math.ceil(dim / 16) * 16;
    this.queryMax = Math.min(32767, Math.floor(0x7fffffff / (127 * this.stride)));
    this.maxRows = Math.floor((this.maxBytes - this.stride * 2) / (this.stride + 8));
    compiled ??= new WebAssembly.Module(INT8_DOTS_WASM);
    this.wasm = new WebAssembly.Instance(compiled).exports as unknown as DotsModule;
    capacity = Math.min(capacity, this.maxRows);
    this.scales = new Float32Array(capacity);
    this.rowOf = new Int32Array(capacity).fill(-1);
    this.reserve(capacity * this.stride);
  }

  /** Every row's codes, a view made anew each time: growing the memory detaches the views made before. */
  private get codes(): Int8Array {
    return new Int8Array(this.wasm.memory.buffer, 0, this.scales.length * this.stride);
  }

  private reserve(bytes: number): void {
    if (bytes > this.maxBytes) throw new RangeError(`${bytes} bytes of int8 memory asked for, ${this.maxBytes} allowed`);
    const missing = bytes - this.wasm.memory.buffer.byteLength;
    if (missing > 0) this.wasm.memory.grow(Math.ceil(missing / 65536));
  }

  get size(): number {
    return this.rows - this.freeRows.length;
  }

  /** Whether `fresh` more labels fit (deleted rows are reused first). */
  roomFor(fresh: number): boolean {
    return this.size + fresh <= this.maxRows;
  }

  has(label: number): boolean {
    return label < this.rowOf.length && this.rowOf[label]! >= 0;
  }

  /** Stores the unit-length direction of `vector`: the collection's scores are cosines. */
  set(label: number, vector: ArrayLike<number>): void {
    if (vector.length !== this.dim) throw new Error(`expected ${this.dim} dims, got ${vector.length}`);
    const row = this.rowFor(label);
    let sq = 0;
    let max = 0;
    for (let d = 0; d < this.dim; d++) {
      const x = vector[d]!;
      sq += x * x;
      max = Math.max(max, Math.abs(x));
    }
    const norm = Math.sqrt(sq);
    const step = norm > 0 ? max / norm / 127 : 0;
    this.scales[row] = step;
    const codes = this.codes;
    const off = row * this.stride;
    const inv = step > 0 ? 1 / (norm * step) : 0;
    for (let d = 0; d < this.dim; d++) codes[off + d] = Math.round(vector[d]! * inv);
  }

  delete(label: number): void {
    if (!this.has(label)) return;
    this.freeRows.push(this.rowOf[label]!);
    this.rowOf[label] = -1;
  }

  /** The approximate cosine of `query` (unit length) with the label's vector. */
  score(query: Float32Array, label: number): number {
    return this.scoresOf(query, [label]).scores[0]!;
  }

  /**
   * The labels of `labels` whose exact score may be among the `n` best: every one whose int8 score is within
   * ERROR_STEPS quantization steps of the n-th best int8 score (a row's score errs by about 0.29 of its step, so
   * a true top-n row falls below that only past 5 standard deviations of the difference of two errors).
   */
  mayBeBest(query: Float32Array, labels: readonly number[], n: number): number[] {
    const count = labels.length;
    if (count <= n) return [...labels];
    const { scores, step } = this.scoresOf(query, labels);
    const floor = nthLargest(scores, n) - ERROR_STEPS * step;
    const out: number[] = [];
    for (let i = 0; i < count; i++) if (scores[i]! >= floor) out.push(labels[i]!);
    return out;
  }

  /**
   * The int8 scores of `labels`, and the largest quantization step among them. The query is scaled to int16 (its
   * rounding errs by 1/(2 × queryMax) of its largest value, some 1e-5 of a step here).
   */
  private scoresOf(query: Float32Array, labels: readonly number[]): { scores: Float32Array; step: number } {
    const { stride, dim, rowOf, scales } = this;
    const count = labels.length;
    const queryAt = scales.length * stride;
    const rowsAt = queryAt + stride * 2;
    const outAt = rowsAt + count * 4;
    this.reserve(outAt + count * 4);
    const heap = this.wasm.memory.buffer;
    let max = 0;
    for (let d = 0; d < dim; d++) max = Math.max(max, Math.abs(query[d]!));
    const toInt = max > 0 ? this.queryMax / max : 0;
    const q = new Int16Array(heap, queryAt, stride);
    for (let d = 0; d < dim; d++) q[d] = Math.round(query[d]! * toInt);
    q.fill(0, dim);
    const rows = new Int32Array(heap, rowsAt, count);
    for (let i = 0; i < count; i++) rows[i] = rowOf[labels[i]!]!;
    this.wasm.dots(0, stride, queryAt, rowsAt, count, outAt);
    const dots = new Int32Array(heap, outAt, count);
    const scores = new Float32Array(count);
    const toScore = toInt > 0 ? 1 / toInt : 0;
    let step = 0;
    for (let i = 0; i < count; i++) {
      const scale = scales[rows[i]!]!;
      scores[i] = dots[i]! * scale * toScore;
      if (scale > step) step = scale;
    }
    return { scores, step };
  }

  /** The rows of `labels`, in that order, as one buffer: every scale (float32), then every code. */
  serialize(labels: readonly number[]): Buffer {
    const out = Buffer.alloc(labels.length * (4 + this.dim));
    const scales = new Float32Array(out.buffer, out.byteOffset, labels.length);
    const codes = new Int8Array(out.buffer, out.byteOffset + labels.length * 4, labels.length * this.dim);
    const rows = this.codes;
    labels.forEach((label, i) => {
      const row = this.rowOf[label]!;
      scales[i] = this.scales[row]!;
      codes.set(rows.subarray(row * this.stride, row * this.stride + this.dim), i * this.dim);
    });
    return out;
  }

  /** Reads what `serialize` wrote for the same labels, in the same order; false (and nothing read) when it cannot be that. */
  load(buf: Buffer, labels: readonly number[]): boolean {
    if (buf.length !== labels.length * (4 + this.dim)) return false;
    // Copied out: the file's buffer need not be aligned for a Float32Array view.
    const scales = new Float32Array(Uint8Array.from(buf.subarray(0, labels.length * 4)).buffer);
    const codes = new Int8Array(buf.buffer, buf.byteOffset + labels.length * 4, labels.length * this.dim);
    labels.forEach((label, i) => {
      const row = this.rowFor(label);
      this.scales[row] = scales[i]!;
      this.codes.set(codes.subarray(i * this.dim, (i + 1) * this.dim), row * this.stride);
    });
    return true;
  }

  private rowFor(label: number): number {
    if (label >= this.rowOf.length) {
      const grown = new Int32Array(Math.max(label + 1, this.rowOf.length * 2)).fill(-1);
      grown.set(this.rowOf);
      this.rowOf = grown;
    }
    const existing = this.rowOf[label]!;
    if (existing >= 0) return existing;
    if (this.freeRows.length === 0 && this.rows >= this.maxRows) throw new RangeError(`no room for more than ${this.maxRows} int8 rows`);
    const row = this.freeRows.pop() ?? this.rows++;
    if (row >= this.scales.length) {
      // By half again, not double: at a million 512-d vectors a doubling would hold 512 MiB of empty rows. The rows
      // grow in place, over the scratch past them: a padding byte left from it meets a zero of the query.
      const capacity = Math.min(this.maxRows, Math.max(row + 1, Math.ceil(this.scales.length * 1.5)));
      this.reserve(capacity * this.stride);
      const scales = new Float32Array(capacity);
      scales.set(this.scales);
      this.scales = scales;
    }
    this.rowOf[label] = row;
    return row;
  }
}

/**
 * The n-th largest of `values` (1 ≤ n ≤ their count), from a min-heap of the n largest seen: for the 10 best of an
 * owner's 10,000 scores it replaces a sort of all of them (0.9 ms here).
 */
export function nthLargest(values: Float32Array, n: number): number {
  const heap = values.slice(0, n).sort();
  const siftDown = (value: number) => {
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const child = left + 1 < n && heap[left + 1]! < heap[left]! ? left + 1 : left;
      if (heap[child]! >= value) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = value;
  };
  // A sorted array is a min-heap already.
  for (let i = n; i < values.length; i++) if (values[i]! > heap[0]!) siftDown(values[i]!);
  return heap[0]!;
}
