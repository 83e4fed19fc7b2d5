import { HierarchicalNSW } from 'hnswlib-node';
import { gaussian, mulberry32 } from '../scripts/lib/random';
import { round } from './stats';

/**
 * ANN quality and speed of the embedded index's library (hnswlib-node, cosine) on synthetic
 * clustered 512-d vectors, made reproducibly: real embeddings are clustered, and uniform
 * random vectors would understate recall.
 */
export function clusteredVectors(n: number, dim: number, clusters: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const centres = new Float32Array(clusters * dim).map(() => gaussian(rand));
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(rand() * clusters);
    let sq = 0;
    for (let d = 0; d < dim; d++) {
      const v = centres[c * dim + d]! + 0.6 * gaussian(rand);
      out[i * dim + d] = v;
      sq += v * v;
    }
    const inv = 1 / Math.sqrt(sq);
    for (let d = 0; d < dim; d++) out[i * dim + d]! *= inv;
  }
  return out;
}

function exactTopK(data: Float32Array, n: number, dim: number, q: Float32Array, k: number): number[] {
  const best: { i: number; s: number }[] = [];
  for (let i = 0; i < n; i++) {
    let s = 0;
    const off = i * dim;
    for (let d = 0; d < dim; d++) s += data[off + d]! * q[d]!;
    if (best.length < k) {
      best.push({ i, s });
      best.sort((a, b) => b.s - a.s);
    } else if (s > best[k - 1]!.s) {
      best[k - 1] = { i, s };
      best.sort((a, b) => b.s - a.s);
    }
  }
  return best.map((b) => b.i);
}

export interface AnnResult {
  n: number;
  dim: number;
  m: number;
  efConstruction: number;
  buildSeconds: number;
  insertsPerSecond: number;
  rssMiB: number;
  sweep: { ef: number; recallAt10: number; qps: number }[];
  /** Smallest ef reaching recall@10 >= 0.98, if any. */
  efFor098: number | null;
}

export function benchAnn(n: number, opts: { dim?: number; m?: number; efConstruction?: number; queries?: number; efs?: number[]; seed?: number } = {}): AnnResult {
  const dim = opts.dim ?? 512;
  const m = opts.m ?? 16;
  const efConstruction = opts.efConstruction ?? 200;
  const queries = opts.queries ?? 100;
  const efs = opts.efs ?? [16, 32, 64, 128, 256, 512];
  const rssBefore = process.memoryUsage().rss;
  const data = clusteredVectors(n, dim, Math.max(10, Math.round(n / 100)), opts.seed ?? 7);
  const index = new HierarchicalNSW('cosine', dim);
  index.initIndex({ maxElements: n, m, efConstruction, randomSeed: 100 });
  const start = performance.now();
  for (let i = 0; i < n; i++) index.addPoint(Array.from(data.subarray(i * dim, (i + 1) * dim)), i);
  const buildSeconds = (performance.now() - start) / 1000;
  const rssMiB = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
  // Queries: perturbed data points, like a photo near others in the library.
  const rand = mulberry32(99);
  const qs = Array.from({ length: queries }, () => {
    const base = Math.floor(rand() * n);
    const q = new Float32Array(dim);
    let sq = 0;
    for (let d = 0; d < dim; d++) {
      q[d] = data[base * dim + d]! + 0.05 * gaussian(rand);
      sq += q[d]! * q[d]!;
    }
    return q.map((x) => x / Math.sqrt(sq));
  });
  const truth = qs.map((q) => new Set(exactTopK(data, n, dim, q, 10)));
  const sweep = efs.map((ef) => {
    index.setEf(ef);
    const t0 = performance.now();
    let found = 0;
    qs.forEach((q, i) => {
      const res = index.searchKnn(Array.from(q), 10);
      found += res.neighbors.filter((x) => truth[i]!.has(x)).length;
    });
    const secs = (performance.now() - t0) / 1000;
    return { ef, recallAt10: round(found / (queries * 10), 4), qps: round(queries / secs, 1) };
  });
  return {
    n,
    dim,
    m,
    efConstruction,
    buildSeconds: round(buildSeconds, 1),
    insertsPerSecond: round(n / buildSeconds, 0),
    rssMiB: round(rssMiB, 0),
    sweep,
    efFor098: sweep.find((s) => s.recallAt10 >= 0.98)?.ef ?? null,
  };
}
