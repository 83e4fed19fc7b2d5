/**
 * npm run bench:search-features — p50/p95 of POST /v1/search/text over loopback HTTP with each of the query
 * features of issue 36, in one run, on BENCH_FEATURE_IMAGES images (100 000) that each carry a synthetic OCR
 * line: rows, texts and vectors written directly (random vectors of the generated test pack's size, in the
 * embedded HNSW index), so what is timed is the search, not the model. Embedding cache on: the text encoder
 * is not what differs between the rows.
 *
 * Beside it, the service as it was before issue 36 (BENCH_BASELINE_COMMIT, extracted from git and run on this
 * tree's node_modules, bench/baselineService.ts) answers the same requests over the same rows and vectors,
 * round-robin with the current one, so each feature's cost is measured against the code it changed.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { makeTestPack } from '../scripts/test-pack/make';
import { cliConfig, startServices } from '../src/cli/services';
import { startLocalPostgres, tempDirForCluster } from '../src/db/localPostgres';
import { createLogger } from '../src/util/logger';
import { extractCommit } from './baselineTree';
import { envNumber } from './harness';
import { insertOcrTexts, syntheticOcrLines } from './ocrLines';
import { listen } from './query';
import { round, summarize, timed, writeBenchResults } from './stats';

const OWNER = 'bench';
const KEY = 'bench-key';

/**
 * Each row: a request as every version of the service takes it, and what only today's reads (sent to the current
 * service only). The place word names a city the library has no photo from, so it is searched as words after
 * the one lookup that says so.
 */
const FEATURES: { label: string; body: (q: string) => { query: string; mode: string }; only?: object }[] = [
  { label: 'semantic (dates and places read, none in the query)', body: (q) => ({ query: q, mode: 'semantic' }) },
  { label: 'semantic, dates and places not read', body: (q) => ({ query: q, mode: 'semantic' }), only: { readDates: false, readPlaces: false } },
  { label: 'semantic, a date phrase (去年夏天…)', body: (q) => ({ query: `去年夏天的${q}`, mode: 'semantic' }) },
  { label: 'semantic, a place word (北京的…)', body: (q) => ({ query: `北京的${q}`, mode: 'semantic' }) },
  { label: 'semantic, an exclusion (-停车场)', body: (q) => ({ query: `${q} -停车场`, mode: 'semantic' }) },
  { label: 'ocr (lexical half alone)', body: (q) => ({ query: q, mode: 'ocr' }) },
  { label: 'hybrid (meaning + words), the default', body: (q) => ({ query: q, mode: 'hybrid' }) },
];

/** The last commit before issue 36 changed the search. */
const BASELINE_COMMIT = process.env.BENCH_BASELINE_COMMIT ?? 'ee73701';
const REPO = path.resolve(__dirname, '..');

const QUERIES = ['北京西站的出口', '发票金额', '宫保鸡丁', '取件码', '停车场入口', '会员积分', '地铁号线', '验证码', '优惠券满减', '营业时间'];

function randomUnit(dim: number): Float32Array {
  const v = Float32Array.from({ length: dim }, () => Math.random() * 2 - 1);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/** Runs a command to its end; its error carries what it printed. */
const run = promisify(execFile);

interface Baseline {
  url: string;
  packKey: string;
  stop(): Promise<void>;
}

/**
 * The service at `commit`, extracted beside the run and started on this tree's node_modules over the same
 * database: its own embedded index gets the vectors written to `vectorsFile` (.json + .f32).
 */
async function startBaseline(commit: string, root: string, env: Record<string, string>, vectorsFile: string): Promise<Baseline> {
  const tree = path.join(root, 'baseline');
  await extractCommit(commit, tree);
  await copyFile(path.join(__dirname, 'baselineService.ts'), path.join(tree, 'bench', 'baselineService.ts'));
  await run('node', ['scripts/prisma-generate.js'], { cwd: tree });
  await run('npm', ['run', '-s', 'build:wasm'], { cwd: tree });
  const child: ChildProcess = spawn(process.execPath, [path.join(REPO, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'bench/baselineService.ts'], {
    cwd: tree,
    env: { ...process.env, ...env, BASELINE_VECTORS: vectorsFile },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<{ url: string; packKey: string }>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the baseline service at ${commit} exited ${code} before it listened`)));
    readline.createInterface({ input: child.stdout! }).once('line', (line) => resolve(JSON.parse(line) as { url: string; packKey: string }));
  });
  return {
    ...ready,
    stop: async () => {
      child.stdin!.end();
      await exited;
    },
  };
}

export async function benchSearchFeatures(images: number, requests: number, baselineCommit: string | null = BASELINE_COMMIT) {
  const root = await tempDirForCluster('imagesearch-features-');
  const pg = await startLocalPostgres({ dir: path.join(root, 'postgres') });
  const packDir = path.join(root, 'test-pack');
  await makeTestPack(packDir);
  const env = {
    DATABASE_URL: pg.url,
    MODEL_DIR: packDir,
    ADMIN_API_KEY: KEY,
    OCR: 'off',
    AUTO_TAGS: 'off',
    CAPTIONS: 'off',
    DUPLICATES: 'off',
    RATE_LIMIT_PER_MINUTE: '1000000',
    LOG_LEVEL: 'silent',
  };
  const s = await startServices(cliConfig({ ...env, DATA_DIR: path.join(root, 'data') }), createLogger('silent'));
  const db = new Client({ connectionString: pg.url });
  await db.connect();
  const server = await listen(s);
  let baseline: Baseline | null = null;
  try {
    const line = syntheticOcrLines(23);
    const dim = s.pack.image.dim;
    const threeYears = 3 * 365 * 86_400_000;
    const all = { ids: [] as string[], takenAt: [] as number[], vectors: new Float32Array(images * dim) };
    for (let i = 0; i < images; i += 2000) {
      const n = Math.min(2000, images - i);
      const ids = Array.from({ length: n }, () => randomUUID());
      const taken = ids.map(() => Date.now() - Math.random() * threeYears);
      const texts = ids.map(() => line());
      await db.query(
        `INSERT INTO images (id, owner, sha256, source_kind, source, mime, width, height, bytes, state, model_pack, taken_at, updated_at)
         SELECT id, $2, repeat('0', 64), 'folder', id::text, 'image/jpeg', 1, 1, 1, 'indexed', $3, to_timestamp(t / 1000.0), now()
         FROM unnest($1::uuid[], $4::float8[]) AS u(id, t)`,
        [ids, OWNER, s.pack.key, taken],
      );
      await insertOcrTexts(db, ids, texts);
      const vectors = ids.map(() => randomUnit(dim));
      vectors.forEach((v, k) => all.vectors.set(v, (i + k) * dim));
      all.ids.push(...ids);
      all.takenAt.push(...taken);
      await s.images.upsert(ids.map((id, k) => ({ id, vector: vectors[k]!, payload: { owner: OWNER, albums: [], takenAt: taken[k] } })));
    }
    await db.query('ANALYZE');
    if (baselineCommit) {
      const file = path.join(root, 'vectors');
      await writeFile(`${file}.json`, JSON.stringify({ owner: OWNER, dim, ids: all.ids, takenAt: all.takenAt }));
      await writeFile(`${file}.f32`, new Uint8Array(all.vectors.buffer));
      baseline = await startBaseline(baselineCommit, root, { ...env, DATA_DIR: path.join(root, 'baseline-data') }, file);
      if (baseline.packKey !== s.pack.key) throw new Error(`the baseline reads the pack as ${baseline.packKey}, this tree as ${s.pack.key}`);
    }
    const ask = async (url: string, body: object) => {
      const res = await fetch(`${url}/v1/search/text`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
        body: JSON.stringify({ limit: 20, filters: { owner: OWNER }, ...body }),
      });
      if (res.status !== 200) throw new Error(`search answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    };
    const targets = [
      { url: server.url, body: (f: (typeof FEATURES)[number], q: string) => ({ ...f.body(q), ...f.only }) },
      ...(baseline ? [{ url: baseline.url, body: (f: (typeof FEATURES)[number], q: string) => f.body(q) }] : []),
    ];
    // Every feature once over every query first: caches (embeddings, pages, plans, the calibration) warm for all.
    for (const t of targets) for (const f of FEATURES) for (const q of QUERIES) await ask(t.url, t.body(f, q));
    const ms = targets.map(() => FEATURES.map(() => [] as number[]));
    // Round-robin over rows and versions, so that the machine's drift falls on every row alike.
    for (let r = 0; r < requests; r++) {
      const q = QUERIES[r % QUERIES.length]!;
      for (const [k, f] of FEATURES.entries()) for (const [v, t] of targets.entries()) ms[v]![k]!.push((await timed(() => ask(t.url, t.body(f, q)))).ms);
    }
    return {
      images,
      requests,
      baselineCommit: baseline ? baselineCommit : null,
      rows: FEATURES.map((f, k) => ({ feature: f.label, latencyMs: summarize(ms[0]![k]!), baselineMs: baseline ? summarize(ms[1]![k]!) : undefined })),
    };
  } finally {
    await baseline?.stop();
    await server.close();
    await db.end();
    await s.close();
    await pg.stop();
  }
}

export type SearchFeaturesBench = Awaited<ReturnType<typeof benchSearchFeatures>>;

const signed = (x: number) => `${x >= 0 ? '+' : ''}${round(x, 2)}`;

/** Issue 36's bound on what query parsing and the lexical change may add to p50. */
const ADDED_P50_GOAL_MS = 5;

export function searchFeaturesMarkdown(r: SearchFeaturesBench): string {
  const before = r.baselineCommit;
  const lexical = r.rows.find((x) => x.feature.startsWith('ocr'))!;
  return [
    `**Query features**, POST /v1/search/text over loopback HTTP, ${r.images} images each with a synthetic OCR line (random vectors, embedded HNSW, PostgreSQL), ${r.requests} requests per row` +
      (before
        ? `, each also sent to the service as it was before issue 36 (commit ${before}, same rows and vectors, its own index), round-robin over rows and both versions in one run:`
        : ', round-robin in one run (no earlier version was run beside it):'),
    '',
    ...(before
      ? [
          '| request | now ms p50 / p95 | before ms p50 / p95 | p50 added |',
          '|---|---|---|---|',
          ...r.rows.map(
            (x) =>
              `| ${x.feature} | ${x.latencyMs.p50} / ${x.latencyMs.p95} | ${x.baselineMs!.p50} / ${x.baselineMs!.p95} | ${signed(x.latencyMs.p50 - x.baselineMs!.p50)} ms |`,
          ),
          '',
          `Goal: at most +${ADDED_P50_GOAL_MS} ms p50 for query parsing and the lexical change. Reading dates and places where the words name none (the first row against the second, both now): ${signed(r.rows[0]!.latencyMs.p50 - r.rows[1]!.latencyMs.p50)} ms p50. ` +
            `The lexical change (the ocr row, now against before): ${signed(lexical.latencyMs.p50 - lexical.baselineMs!.p50)} ms p50. ` +
            `"Now" also has the embedded index's filtered walk (a filter that keeps a twentieth or more of the owner's points is checked on the points the graph walk meets, instead of listing every point it keeps first): that is most of the semantic rows' difference. ` +
            `The earlier version reads a date, place or exclusion as words, so those rows compare the same text searched both ways.`,
        ]
      : ['| request | ms p50 / p95 |', '|---|---|', ...r.rows.map((x) => `| ${x.feature} | ${x.latencyMs.p50} / ${x.latencyMs.p95} |`)]),
    '',
  ].join('\n');
}

if (require.main === module)
  void (async () => {
    const started = new Date().toISOString();
    const r = await benchSearchFeatures(envNumber('BENCH_FEATURE_IMAGES', 100_000), envNumber('BENCH_REQUESTS', 100));
    await writeBenchResults('search-features', 'Query features benchmark', 'npm run bench:search-features', started, r, searchFeaturesMarkdown(r));
    console.log(searchFeaturesMarkdown(r));
  })().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
