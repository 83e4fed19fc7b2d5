import { randomUUID } from 'node:crypto';

export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
