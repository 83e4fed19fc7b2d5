/** L2-normalises each row of a row-major [rows, dim] matrix; returns one Float32Array per row. */
export function l2NormalizeRows(data: Float32Array, rows: number, dim: number): Float32Array[] {
  if (data.length !== rows * dim) throw new Error(`expected ${rows}x${dim} values, got ${data.length}`);
  const out: Float32Array[] = [];
  for (let r = 0; r < rows; r++) {
    const row = data.slice(r * dim, (r + 1) * dim);
    let sq = 0;
    for (const v of row) sq += v * v;
    // A zero vector stays zero rather than becoming NaN; it then matches nothing.
    const inv = sq > 0 ? 1 / Math.sqrt(sq) : 0;
    for (let i = 0; i < dim; i++) row[i]! *= inv;
    out.push(row);
  }
  return out;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
