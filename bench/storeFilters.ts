/**
 * npm run bench:store — the embedded store itself (HnswStore: write-ahead log, snapshot, int8 vectors) at
 * BENCH_STORE_SIZE (1,000,000) clustered 512-d vectors of 100 owners: its build, memory, snapshot and open, and
 * filtered searches as Qdrant's filtered-search benchmark sets them, each through the store's rule (walk a filter
 * only when it keeps a large share of the whole graph), through the rule before it (walk any filter keeping more
 * than the exact-search threshold), and through an earlier commit's store (BENCH_STORE_BASELINE, extracted with
 * `git archive`), all on the same snapshot, their passes interleaved. Written to bench/store-results.json and .md.
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_HNSW, HnswStore, walksThrough, type HnswSettings } from '../src/store/hnswStore';
import type { PointFilter, VectorCollection } from '../src/store/vectorStore';
import { annDataset, exactAmong, QDRANT_STYLE_FILTERS, type AnnDataset } from './ann';
import { extractCommit } from './baselineTree';
import { envNumber } from './harness';
import { round, writeBenchResults } from './stats';

const QUERIES = 50;
const PASSES = 3;
const BATCH = 1000;
/** At 1M the walk needs ef 512 for recall@10 0.98 (bench:ann), so every search here runs at it. */
const EF = 512;

const idOf = (i: number) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
const indexOf = (id: string) => parseInt(id.slice(24), 16);
const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
/** RSS after a full collection (npm run bench:store runs node with --expose-gc), so that freed stores do not count. */
const rss = () => {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss;
};

interface FilterRow {
  filter: string;
  kept: number;
  rule: string;
  path: 'graph walk' | 'scored';
  recallAt10: number;
  qps: number;
}

const FILTERS: { filter: string; keep: (i: number) => boolean; where: PointFilter | undefined }[] = [
  { filter: 'none', keep: () => true, where: undefined },
  { filter: QDRANT_STYLE_FILTERS[0].filter, keep: QDRANT_STYLE_FILTERS[0].keep, where: { owner: 'o7' } },
  { filter: QDRANT_STYLE_FILTERS[1].filter, keep: QDRANT_STYLE_FILTERS[1].keep, where: { owner: 'o7', album: 'a' } },
];

/** The commit whose store is measured beside this tree's (its int8 vectors scored in JavaScript). */
const BASELINE_COMMIT = process.env.BENCH_STORE_BASELINE ?? '2b61d8b';

type StoreClass = typeof HnswStore;

interface Variant {
  rule: string;
  Store: StoreClass;
  settings: Partial<HnswSettings>;
}

async function variants(tree: string): Promise<Variant[]> {
  await extractCommit(BASELINE_COMMIT, tree, 'src');
  const baseline = ((await import(path.join(tree, 'src/store/hnswStore.ts'))) as { HnswStore: StoreClass }).HnswStore;
  return [
    { rule: 'now: a walk when the filter keeps ≥ 5 % of the graph', Store: HnswStore, settings: {} },
    { rule: 'before: a walk whenever it keeps > 5,000 points', Store: HnswStore, settings: { walkShare: 0 } },
    { rule: `${BASELINE_COMMIT}'s store, the rule of now`, Store: baseline, settings: {} },
  ];
}

async function build(ds: AnnDataset, dir: string, log: (msg: string) => void) {
  const rss0 = rss();
  const store = new HnswStore(dir, DEFAULT_HNSW);
  const col = await store.collection('bench', ds.dim);
  const t0 = performance.now();
  for (let i = 0; i < ds.n; i += BATCH) {
    const points = [];
    for (let j = i; j < Math.min(ds.n, i + BATCH); j++) {
      const payload = { owner: `o${j % 100}`, albums: j % 10_000 === 7 ? ['a'] : [] };
      points.push({ id: idOf(j), vector: ds.data.subarray(j * ds.dim, (j + 1) * ds.dim), payload });
    }
    await col.upsert(points);
    if ((i + BATCH) % 100_000 === 0) log(`store: ${i + BATCH} points, ${Math.round((i + BATCH) / ((performance.now() - t0) / 1000))}/s`);
  }
  const buildS = (performance.now() - t0) / 1000;
  const rssMiB = mib(rss() - rss0);
  const t1 = performance.now();
  await store.close();
  const snapshotS = (performance.now() - t1) / 1000;
  const snap = path.join(
    dir,
    'bench',
    (await readdir(path.join(dir, 'bench'))).find((f) => f.startsWith('snap-'))!,
  );
  const files = Object.fromEntries(await Promise.all((await readdir(snap)).map(async (f) => [f, mib((await stat(path.join(snap, f))).size)] as const)));
  return { buildS: round(buildS, 1), insertsPerSecond: Math.round(ds.n / buildS), rssMiB, snapshotS: round(snapshotS, 1), snapshotMiB: files };
}

/**
 * One timed pass of the queries through a filter: the QPS, and how many of the exact top 10 came back. An untimed
 * pass goes first: each store was opened just before, and a service answers from a warm one (the snapshot's pages
 * read, the code compiled, the float vectors of its owners' best matches cached), not from the first query after a start.
 */
async function pass(col: VectorCollection, ds: AnnDataset, where: PointFilter | undefined, truths: readonly Set<number>[]) {
  const search = async (q: Float32Array) => (await col.search({ vector: q, limit: 10, ...(where ? { filter: where } : {}) })).map((h) => indexOf(h.id));
  for (const q of ds.queries) await search(q);
  let found = 0;
  const t0 = performance.now();
  for (const [i, q] of ds.queries.entries()) found += (await search(q)).filter((x) => truths[i]!.has(x)).length;
  return { qps: ds.queries.length / ((performance.now() - t0) / 1000), found };
}

function markdown(n: number, built: Awaited<ReturnType<typeof build>>, opens: { rule: string; openS: number }[], rows: FilterRow[]): string {
  return [
    `${n.toLocaleString('en')} clustered 512-d vectors, 100 owners, ${QUERIES} queries, ef ${EF}; each QPS is the median of ${PASSES} passes, one query at a time; recall@10 against the exact answer within the filter.`,
    '',
    `**Build** through the store (write-ahead log fsynced per batch of ${BATCH}): ${built.buildS} s, ${built.insertsPerSecond} inserts/s; the store's memory ${built.rssMiB} MiB (RSS after it, less RSS before).`,
    `**Snapshot** at close: ${built.snapshotS} s, files (MiB): ${Object.entries(built.snapshotMiB)
      .map(([f, m]) => `${f} ${m}`)
      .join(', ')}.`,
    `**Open** (read the snapshot; each variant, each pass): ${opens.map((o) => `${o.openS} s`).join(', ')}. The baseline commit (BENCH_STORE_BASELINE): ${BASELINE_COMMIT}.`,
    '',
    '| filter | kept | rule | path | recall@10 | QPS |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.filter} | ${r.kept} | ${r.rule} | ${r.path} | ${r.recallAt10} | ${r.qps} |`),
    '',
  ].join('\n');
}

void (async () => {
  const started = new Date().toISOString();
  const n = envNumber('BENCH_STORE_SIZE', 1_000_000);
  const log = (msg: string) => console.error(`[bench:store ${new Date().toISOString().slice(11, 19)}] ${msg}`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'imagesearch-store-'));
  try {
    log(`${n} vectors and exact answers`);
    const ds = annDataset(n, { queries: QUERIES });
    const kept = FILTERS.map((f) => Array.from({ length: n }, (_, i) => i).filter(f.keep));
    const truths = FILTERS.map((f, fi) => (f.where ? ds.queries.map((q) => new Set(exactAmong(ds, kept[fi]!, q, 10))) : ds.truth));
    const built = await build(ds, dir, log);
    log(`built: ${JSON.stringify(built)}`);
    const all = await variants(path.join(dir, 'baseline'));
    const opens: { rule: string; openS: number }[] = [];
    const qps = all.map(() => FILTERS.map((): number[] => []));
    const found = all.map(() => FILTERS.map(() => 0));
    // Each pass opens every variant's store in turn, in an order rotated each pass: none is always the first read.
    for (let p = 0; p < PASSES; p++) {
      for (let j = 0; j < all.length; j++) {
        const v = (p + j) % all.length;
        const { rule, Store, settings } = all[v]!;
        const t0 = performance.now();
        const store = new Store(dir, { ...DEFAULT_HNSW, efSearch: EF, ...settings });
        const col = await store.collection('bench', ds.dim);
        opens.push({ rule, openS: round((performance.now() - t0) / 1000, 1) });
        for (const [fi, f] of FILTERS.entries()) {
          log(`pass ${p + 1}, ${f.filter}, ${rule}`);
          const r = await pass(col, ds, f.where, truths[fi]!);
          qps[v]![fi]!.push(r.qps);
          if (p === 0) found[v]![fi] = r.found;
        }
        await store.close();
      }
    }
    const rows: FilterRow[] = all.flatMap(({ rule, settings }, v) =>
      FILTERS.map((f, fi) => {
        const expected = truths[fi]!.reduce((sum, t) => sum + Math.min(10, t.size), 0);
        const walked = !f.where || walksThrough(kept[fi]!.length, n, { ...DEFAULT_HNSW, ...settings });
        return {
          filter: f.filter,
          kept: kept[fi]!.length,
          rule,
          path: walked ? 'graph walk' : 'scored',
          recallAt10: round(found[v]![fi]! / expected, 4),
          qps: round(qps[v]![fi]!.sort((a, b) => a - b)[Math.floor(PASSES / 2)]!, 1),
        };
      }),
    );
    await writeBenchResults(
      'store',
      'The embedded store at scale: build, snapshot, open, and filtered search',
      'npm run bench:store',
      started,
      { n, built, opens, rows },
      markdown(n, built, opens, rows),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
})().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
