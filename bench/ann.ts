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

function dotAt(data: Float32Array, label: number, dim: number, q: Float32Array): number {
  let s = 0;
  const off = label * dim;
  for (let d = 0; d < dim; d++) s += data[off + d]! * q[d]!;
  return s;
}

function exactTopK(data: Float32Array, n: number, dim: number, q: Float32Array, k: number): number[] {
  const best: { i: number; s: number }[] = [];
  for (let i = 0; i < n; i++) {
    const s = dotAt(data, i, dim, q);
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
  /** How vectors are held, e.g. "f32" or "i8, top 30 re-ranked in f32". */
  variant?: string;
  /** Filtered searches against the unfiltered one, at the ef of the recall goal (hnswlib, the embedded store's library). */
  filtered?: FilteredRow[];
}

export interface FilteredRow {
  filter: string;
  kept: number;
  path: string;
  recallAt10: number;
  qps: number;
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
  /** usearch only: how the graph holds vectors, and how many of its hits are re-ranked exactly in f32 (0: none). */
  quantization?: 'f32' | 'i8';
  rerank?: number;
  /** hnswlib only: also measure filtered searches. */
  filtered?: boolean;
}

/** The k best of `labels` by exact cosine (the vectors are unit length). */
export function exactAmong(ds: AnnDataset, labels: readonly number[], q: Float32Array, k: number): number[] {
  return labels
    .map((label) => ({ label, s: dotAt(ds.data, label, ds.dim, q) }))
    .sort((a, b) => b.s - a.s)
    .slice(0, k)
    .map((x) => x.label);
}

/** Timing passes over the queries; a pass's QPS swings several-fold at 1M on a shared machine, so the median pass counts. */
const PASSES = 3;

/** recall@10 against `truths` and the median pass's QPS of `search` over the dataset's queries. */
function measureQueries(ds: AnnDataset, truths: readonly Set<number>[], search: (q: Float32Array) => number[]) {
  search(ds.queries[0]!); // let the library settle before timing
  const qps: number[] = [];
  let found = 0;
  for (let pass = 0; pass < PASSES; pass++) {
    const t0 = performance.now();
    ds.queries.forEach((q, i) => {
      const hits = search(q);
      if (pass === 0) found += hits.filter((x) => truths[i]!.has(x)).length;
    });
    qps.push(ds.queries.length / ((performance.now() - t0) / 1000));
  }
  const expected = truths.reduce((n, t) => n + Math.min(10, t.size), 0);
  return { recallAt10: round(found / Math.max(1, expected), 4), qps: round(qps.sort((a, b) => a - b)[Math.floor(PASSES / 2)]!, 1) };
}

const FILTERED_QUERIES = 20;

/** Point i's owner is i % 100; the album is 1 % of owner 7's points. As Qdrant's filtered-search benchmark sets them. */
export const QDRANT_STYLE_FILTERS = [
  { filter: 'one owner of 100', keep: (i: number) => i % 100 === 7 },
  { filter: "an album of 1 % of that owner's photos", keep: (i: number) => i % 10_000 === 7 },
] as const;

/**
 * The embedded store's two ways through a filter, on the same graph: walk it checking each point met (what
 * it does when the filter keeps a large share), or score every kept point exactly (a small share). Filters as
 * Qdrant's filtered-search benchmark sets them: one owner of 100, and an album of 1 % of that owner's photos.
 * The first FILTERED_QUERIES queries only: a walk through a very selective filter takes seconds at 1M.
 */
function filteredSearch(all: AnnDataset, index: HierarchicalNSW, ef: number): FilteredRow[] {
  const ds = { ...all, queries: all.queries.slice(0, FILTERED_QUERIES), truth: all.truth.slice(0, FILTERED_QUERIES) };
  const time = (search: (q: Float32Array) => number[], truth: (q: Float32Array) => Set<number>) => measureQueries(ds, ds.queries.map(truth), search);
  index.setEf(ef);
  const rows: FilteredRow[] = [
    {
      filter: 'none',
      kept: ds.n,
      path: 'graph walk',
      ...measureQueries(ds, ds.truth, (q) => index.searchKnn(Array.from(q), 10).neighbors),
    },
  ];
  for (const f of QDRANT_STYLE_FILTERS) {
    const kept: number[] = [];
    for (let i = 0; i < ds.n; i++) if (f.keep(i)) kept.push(i);
    const keptSet = new Set(kept);
    const truth = (q: Float32Array) => new Set(exactAmong(ds, kept, q, 10));
    rows.push(
      {
        filter: f.filter,
        kept: kept.length,
        path: 'graph walk, each point checked',
        ...time((q) => index.searchKnn(Array.from(q), 10, (label) => keptSet.has(label)).neighbors, truth),
      },
      { filter: f.filter, kept: kept.length, path: 'exact over the kept points', ...time((q) => exactAmong(ds, kept, q, 10), truth) },
    );
  }
  return rows;
}

function sweepWith(ds: AnnDataset, efs: number[], search: (ef: number, q: Float32Array) => number[]) {
  const sweep = efs.map((ef) => ({ ef, ...measureQueries(ds, ds.truth, (q) => search(ef, q)) }));
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
  const filtered = opts.filtered ? filteredSearch(ds, index, result.efFor098 ?? result.sweep.at(-1)!.ef) : undefined;
  return {
    library: 'hnswlib-node',
    variant: 'f32',
    ...(filtered ? { filtered } : {}),
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

/**
 * usearch for comparison: batch insert on all cores; its search ef is fixed per Index, so each ef reloads a saved
 * index. Quantised to i8, the graph holds a quarter of the bytes and its distances cost less; the f32 vectors a
 * re-rank reads are those the caller keeps anyway (RSS counts the graph only).
 */
export function benchUsearch(ds: AnnDataset, dir: string, opts: AnnOptions = {}): AnnResult {
  // Loaded lazily: a dev dependency used only here.
  // eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports
  const { Index } = require('usearch') as typeof import('usearch');
  const { n, dim, data } = ds;
  const m = opts.m ?? 16;
  const efConstruction = opts.efConstruction ?? 200;
  const quantization = opts.quantization ?? 'f32';
  const rerank = opts.rerank ?? 0;
  const config = (ef: number) => ({
    dimensions: dim,
    metric: 'cos' as never,
    quantization: quantization as never,
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
    if (!rerank) return Array.from(idx.search(q, 10, 1).keys, Number);
    return exactAmong(ds, Array.from(idx.search(q, rerank, 1).keys, Number), q, 10);
  });
  return {
    library: 'usearch',
    variant: rerank ? `${quantization}, top ${rerank} re-ranked in f32` : quantization,
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

/** Rows of earlier runs carry when they were measured. */
export type AnnRow = AnnResult & { measured?: string };

/** Issue 37's bar for a million photos on one machine. */
const GOAL = { n: 1_000_000, qps: 600, recall: 0.98, insertsPerSecond: 2000 };

/**
 * Every size: hnswlib as the embedded store runs it (with filtered searches), usearch i8 with an exact f32
 * re-rank of its top 30, and usearch f32 up to `compareUpTo`.
 */
export function benchAnn(sizes: readonly number[], compareUpTo: number, dir: string, log: (msg: string) => void): AnnResult[] {
  const rows: AnnResult[] = [];
  for (const n of sizes) {
    log(`ann ${n}: dataset and exact answers`);
    const ds = annDataset(n, { queries: n > 200_000 ? 200 : 100 });
    log(`ann ${n}: hnswlib-node, then filtered searches`);
    rows.push(benchHnswlib(ds, { filtered: true }));
    log(`ann ${n}: usearch i8, top 30 re-ranked`);
    rows.push(benchUsearch(ds, dir, { quantization: 'i8', efConstruction: 128, rerank: 30 }));
    if (n <= compareUpTo) {
      log(`ann ${n}: usearch f32`);
      rows.push(benchUsearch(ds, dir));
    }
  }
  return rows;
}

/** The best QPS a row reaches at recall@10 >= 0.98. */
const qpsAtGoal = (a: AnnResult) => Math.max(0, ...a.sweep.filter((s) => s.recallAt10 >= GOAL.recall).map((s) => s.qps));

export function annMarkdown(rows: readonly AnnRow[]): string {
  const filtered = rows.filter((a) => a.filtered);
  const atGoal = rows.filter((a) => a.n === GOAL.n);
  return [
    `hnswlib-node inserts one point at a time, as the embedded store does; usearch inserts the batch on all cores.`,
    ``,
    `| library | vectors | M | efC | build s | inserts/s | RSS MiB | ef: recall@10 / QPS | ef for recall ≥ 0.98 |`,
    `|---|---|---|---|---|---|---|---|---|`,
    ...rows.map(
      (a) =>
        `| ${a.library}${a.variant ? ` (${a.variant})` : ''} | ${a.n}${a.measured ? ` (run of ${a.measured.slice(0, 10)})` : ''} | ${a.m} | ${a.efConstruction} | ${a.buildSeconds} | ${a.insertsPerSecond} | ${a.rssMiB} | ${a.sweep.map((s) => `${s.ef}: ${s.recallAt10} / ${s.qps}`).join('; ')} | ${a.efFor098 ?? '—'} |`,
    ),
    ``,
    ...(atGoal.length
      ? [
          `Goal at ${GOAL.n.toLocaleString('en')} vectors: ≥ ${GOAL.qps} QPS at recall@10 ≥ ${GOAL.recall}, ≥ ${GOAL.insertsPerSecond} inserts/s. ` +
            atGoal
              .map((a) => `${a.library} ${a.variant ?? ''}: ${qpsAtGoal(a) || 'no ef reaches the recall'} QPS, ${a.insertsPerSecond} inserts/s`)
              .join('; ') +
            '.',
          ``,
        ]
      : []),
    ...(filtered.length
      ? [
          `**Filtered search** (hnswlib, at the ef of the recall goal, ${FILTERED_QUERIES} queries, recall against the exact answer within the filter):`,
          ``,
          `| vectors | filter | kept | path | recall@10 | QPS |`,
          `|---|---|---|---|---|---|`,
          ...filtered.flatMap((a) => a.filtered!.map((f) => `| ${a.n} | ${f.filter} | ${f.kept} | ${f.path} | ${f.recallAt10} | ${f.qps} |`)),
          ``,
        ]
      : []),
  ].join('\n');
}
