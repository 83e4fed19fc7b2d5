import path from 'node:path';
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
  library: 'hnswlib-node' | 'usearch';
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

export interface AnnDataset {
  n: number;
  dim: number;
  data: Float32Array;
  queries: Float32Array[];
  truth: Set<number>[];
}

/** Clustered vectors, queries near data points (like a photo near others in the library), exact top-10. */
export function annDataset(n: number, opts: { dim?: number; queries?: number; seed?: number } = {}): AnnDataset {
  const dim = opts.dim ?? 512;
  const data = clusteredVectors(n, dim, Math.max(10, Math.round(n / 100)), opts.seed ?? 7);
  const rand = mulberry32(99);
  const queries = Array.from({ length: opts.queries ?? 100 }, () => {
    const base = Math.floor(rand() * n);
    const q = new Float32Array(dim);
    let sq = 0;
    for (let d = 0; d < dim; d++) {
      q[d] = data[base * dim + d]! + 0.05 * gaussian(rand);
      sq += q[d]! * q[d]!;
    }
    return q.map((x) => x / Math.sqrt(sq));
  });
  return { n, dim, data, queries, truth: queries.map((q) => new Set(exactTopK(data, n, dim, q, 10))) };
}

interface AnnOptions {
  m?: number;
  efConstruction?: number;
  efs?: number[];
}

function sweepWith(ds: AnnDataset, efs: number[], search: (ef: number, q: Float32Array) => number[]) {
  const sweep = efs.map((ef) => {
    search(ef, ds.queries[0]!); // let the library settle on this ef before timing
    const t0 = performance.now();
    let found = 0;
    ds.queries.forEach((q, i) => (found += search(ef, q).filter((x) => ds.truth[i]!.has(x)).length));
    const secs = (performance.now() - t0) / 1000;
    return { ef, recallAt10: round(found / (ds.queries.length * 10), 4), qps: round(ds.queries.length / secs, 1) };
  });
  return { sweep, efFor098: sweep.find((x) => x.recallAt10 >= 0.98)?.ef ?? null };
}

/** The embedded store's library, inserting one point at a time as the store does. */
export function benchHnswlib(ds: AnnDataset, opts: AnnOptions = {}): AnnResult {
  const { n, dim, data } = ds;
  const m = opts.m ?? 16;
  const efConstruction = opts.efConstruction ?? 200;
  const rssBefore = process.memoryUsage().rss;
  const index = new HierarchicalNSW('cosine', dim);
  index.initIndex({ maxElements: n, m, efConstruction, randomSeed: 100 });
  const start = performance.now();
  for (let i = 0; i < n; i++) index.addPoint(Array.from(data.subarray(i * dim, (i + 1) * dim)), i);
  const buildSeconds = (performance.now() - start) / 1000;
  const rssMiB = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
  const result = sweepWith(ds, opts.efs ?? [16, 32, 64, 128, 256, 512], (ef, q) => {
    index.setEf(ef);
    return index.searchKnn(Array.from(q), 10).neighbors;
  });
  return {
    library: 'hnswlib-node',
    n,
    dim,
    m,
    efConstruction,
    buildSeconds: round(buildSeconds, 1),
    insertsPerSecond: round(n / buildSeconds, 0),
    rssMiB: round(rssMiB, 0),
    ...result,
  };
}

/** usearch for comparison: batch insert on all cores; its search ef is fixed per Index, so each ef reloads a saved index. */
export function benchUsearch(ds: AnnDataset, dir: string, opts: AnnOptions = {}): AnnResult {
  // Loaded lazily: a dev dependency used only here.
  // eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports
  const { Index } = require('usearch') as typeof import('usearch');
  const { n, dim, data } = ds;
  const m = opts.m ?? 16;
  const efConstruction = opts.efConstruction ?? 200;
  const config = (ef: number) => ({
    dimensions: dim,
    metric: 'cos' as never,
    quantization: 'f32' as never,
    connectivity: m,
    expansion_add: efConstruction,
    expansion_search: ef,
    multi: false,
  });
  const rssBefore = process.memoryUsage().rss;
  const index = new Index(config(64));
  const keys = BigUint64Array.from({ length: n }, (_, i) => BigInt(i));
  const start = performance.now();
  index.add(keys, data, 0);
  const buildSeconds = (performance.now() - start) / 1000;
  const rssMiB = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
  const file = path.join(dir, `usearch-${n}.bin`);
  index.save(file);
  const byEf = new Map<number, InstanceType<typeof Index>>();
  const result = sweepWith(ds, opts.efs ?? [16, 32, 64, 128, 256, 512], (ef, q) => {
    let idx = byEf.get(ef);
    if (!idx) {
      byEf.clear();
      idx = new Index(config(ef));
      idx.load(file);
      byEf.set(ef, idx);
    }
    return Array.from(idx.search(q, 10, 1).keys, Number);
  });
  return {
    library: 'usearch',
    n,
    dim,
    m,
    efConstruction,
    buildSeconds: round(buildSeconds, 1),
    insertsPerSecond: round(n / buildSeconds, 0),
    rssMiB: round(rssMiB, 0),
    ...result,
  };
}
