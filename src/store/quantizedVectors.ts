/** How far below the n-th best int8 score a candidate may score, in quantization steps (see mayBeBest). */
const ERROR_STEPS = 2;

/**
 * An int8 copy of every vector in a collection, by label, with one scale per vector: 1 byte a dimension, a quarter of
 * the float vectors, so a search can score all of a filter's points without asking hnswlib for each one (32 µs a
 * vector through hnswlib-node's getPoint, which builds a JS array). Its scores are within about 1e-3 of the float
 * ones, so they choose candidates; the candidates are then scored again exactly.
 */
export class QuantizedVectors {
  private codes: Int8Array;
  private scales: Float32Array;
  /** label -> row, -1 where the label has none. */
  private rowOf: Int32Array;
  private readonly freeRows: number[] = [];
  private rows = 0;

  constructor(
    readonly dim: number,
    capacity = 1024,
  ) {
    this.codes = new Int8Array(capacity * dim);
    this.scales = new Float32Array(capacity);
    this.rowOf = new Int32Array(capacity).fill(-1);
  }

  get size(): number {
    return this.rows - this.freeRows.length;
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
    const off = row * this.dim;
    const inv = step > 0 ? 1 / (norm * step) : 0;
    for (let d = 0; d < this.dim; d++) this.codes[off + d] = Math.round(vector[d]! * inv);
  }

  delete(label: number): void {
    if (!this.has(label)) return;
    this.freeRows.push(this.rowOf[label]!);
    this.rowOf[label] = -1;
  }

  /** The approximate cosine of `query` (unit length) with the label's vector. */
  score(query: Float32Array, label: number): number {
    const row = this.rowOf[label]!;
    return rowDot(this.codes, row * this.dim, query, this.dim) * this.scales[row]!;
  }

  /**
   * The labels of `labels` whose exact score may be among the `n` best: every one whose int8 score is within
   * ERROR_STEPS quantization steps of the n-th best int8 score (a row's score errs by about 0.29 of its step, so
   * a true top-n row falls below that only past 5 standard deviations of the difference of two errors).
   */
  mayBeBest(query: Float32Array, labels: readonly number[], n: number): number[] {
    const count = labels.length;
    if (count <= n) return [...labels];
    const { codes, scales, rowOf, dim } = this;
    const scores = new Float32Array(count);
    let step = 0;
    for (let i = 0; i < count; i++) {
      const row = rowOf[labels[i]!]!;
      const scale = scales[row]!;
      scores[i] = rowDot(codes, row * dim, query, dim) * scale;
      if (scale > step) step = scale;
    }
    const floor = scores.slice().sort()[count - n]! - ERROR_STEPS * step;
    const out: number[] = [];
    for (let i = 0; i < count; i++) if (scores[i]! >= floor) out.push(labels[i]!);
    return out;
  }

  /** The rows of `labels`, in that order, as one buffer: every scale (float32), then every code. */
  serialize(labels: readonly number[]): Buffer {
    const out = Buffer.alloc(labels.length * (4 + this.dim));
    const scales = new Float32Array(out.buffer, out.byteOffset, labels.length);
    const codes = new Int8Array(out.buffer, out.byteOffset + labels.length * 4, labels.length * this.dim);
    labels.forEach((label, i) => {
      const row = this.rowOf[label]!;
      scales[i] = this.scales[row]!;
      codes.set(this.codes.subarray(row * this.dim, (row + 1) * this.dim), i * this.dim);
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
      this.codes.set(codes.subarray(i * this.dim, (i + 1) * this.dim), row * this.dim);
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
    const row = this.freeRows.pop() ?? this.rows++;
    if (row >= this.scales.length) {
      // By half again, not double: at a million 512-d vectors a doubling would hold 512 MiB of empty rows.
      const capacity = Math.max(row + 1, Math.ceil(this.scales.length * 1.5));
      const codes = new Int8Array(capacity * this.dim);
      codes.set(this.codes);
      const scales = new Float32Array(capacity);
      scales.set(this.scales);
      this.codes = codes;
      this.scales = scales;
    }
    this.rowOf[label] = row;
    return row;
  }
}

/** Four sums let V8 overlap the multiplies: about twice as fast as one (6 ms for 10,000 rows of 512 dims here). */
function rowDot(codes: Int8Array, off: number, query: Float32Array, dim: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let d = 0;
  for (; d + 3 < dim; d += 4) {
    s0 += codes[off + d]! * query[d]!;
    s1 += codes[off + d + 1]! * query[d + 1]!;
    s2 += codes[off + d + 2]! * query[d + 2]!;
    s3 += codes[off + d + 3]! * query[d + 3]!;
  }
  for (; d < dim; d++) s0 += codes[off + d]! * query[d]!;
  return s0 + s1 + s2 + s3;
}
