import { randomUUID } from 'node:crypto';

export { mulberry32 as seededRandom } from '../../scripts/lib/random';

export function randomUnitVector(dim: number, rand: () => number): Float32Array {
  const v = new Float32Array(dim);
  let sq = 0;
  for (let i = 0; i < dim; i++) {
    v[i] = rand() * 2 - 1;
    sq += v[i]! * v[i]!;
  }
  const inv = 1 / Math.sqrt(sq);
  for (let i = 0; i < dim; i++) v[i]! *= inv;
  return v;
}

export function ids(n: number): string[] {
  return Array.from({ length: n }, () => randomUUID());
}
