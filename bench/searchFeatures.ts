/**
 * npm run bench:search-features — p50/p95 of POST /v1/search/text over loopback HTTP with each of the query
 * features of issue 36, in one run, on BENCH_FEATURE_IMAGES images (100 000) that each carry a synthetic OCR
 * line: rows, texts and vectors written directly (random vectors of the generated test pack's size, in the
 * embedded HNSW index), so what is timed is the search, not the model. Embedding cache on: the text encoder
 * is not what differs between the rows.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Client } from 'pg';
import { makeTestPack } from '../scripts/test-pack/make';
import { cliConfig, startServices } from '../src/cli/services';
import { startLocalPostgres, tempDirForCluster } from '../src/db/localPostgres';
import { createLogger } from '../src/util/logger';
import { envNumber } from './harness';
import { insertOcrTexts, syntheticOcrLines } from './ocrLines';
import { listen } from './query';
import { round, summarize, timed, writeBenchResults } from './stats';

const OWNER = 'bench';
const KEY = 'bench-key';

/** Each row: the request body's features, beside plain semantic search. */
const FEATURES: { label: string; body: (q: string) => object }[] = [
  { label: 'semantic (dates not read)', body: (q) => ({ query: q, mode: 'semantic', readDates: false }) },
  { label: 'semantic, dates read (none in the query)', body: (q) => ({ query: q, mode: 'semantic' }) },
  { label: 'semantic, a date phrase (去年夏天…)', body: (q) => ({ query: `去年夏天的${q}`, mode: 'semantic' }) },
  { label: 'semantic, an exclusion (-停车场)', body: (q) => ({ query: `${q} -停车场`, mode: 'semantic' }) },
  { label: 'ocr (lexical, two thirds of the pairs)', body: (q) => ({ query: q, mode: 'ocr' }) },
  { label: 'hybrid (meaning + words, relevance)', body: (q) => ({ query: q, mode: 'hybrid' }) },
];

const QUERIES = ['北京西站的出口', '发票金额', '宫保鸡丁', '取件码', '停车场入口', '会员积分', '地铁号线', '验证码', '优惠券满减', '营业时间'];

function randomUnit(dim: number): Float32Array {
  const v = Float32Array.from({ length: dim }, () => Math.random() * 2 - 1);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

export async function benchSearchFeatures(images: number, requests: number) {
  const root = await tempDirForCluster('imagesearch-features-');
  const pg = await startLocalPostgres({ dir: path.join(root, 'postgres') });
  const packDir = path.join(root, 'test-pack');
  await makeTestPack(packDir);
  const config = cliConfig({
    DATABASE_URL: pg.url,
    DATA_DIR: path.join(root, 'data'),
    MODEL_DIR: packDir,
    ADMIN_API_KEY: KEY,
    OCR: 'off',
    AUTO_TAGS: 'off',
    DUPLICATES: 'off',
    RATE_LIMIT_PER_MINUTE: '1000000',
    LOG_LEVEL: 'silent',
  });
  const s = await startServices(config, createLogger('silent'));
  const db = new Client({ connectionString: pg.url });
  await db.connect();
  const server = await listen(s);
  try {
    const line = syntheticOcrLines(23);
    const dim = s.pack.image.dim;
    const threeYears = 3 * 365 * 86_400_000;
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
      await s.images.upsert(ids.map((id, k) => ({ id, vector: randomUnit(dim), payload: { owner: OWNER, albums: [], takenAt: taken[k] } })));
    }
    await db.query('ANALYZE');
    const ask = async (body: object) => {
      const res = await fetch(`${server.url}/v1/search/text`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
        body: JSON.stringify({ limit: 20, filters: { owner: OWNER }, ...body }),
      });
      if (res.status !== 200) throw new Error(`search answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    };
    // Every feature once over every query first: caches (embeddings, pages, plans, the calibration) warm for all.
    for (const f of FEATURES) for (const q of QUERIES) await ask(f.body(q));
    const ms = FEATURES.map(() => [] as number[]);
    // Round-robin, so that the machine's drift falls on every row alike.
    for (let r = 0; r < requests; r++) {
      for (const [k, f] of FEATURES.entries()) ms[k]!.push((await timed(() => ask(f.body(QUERIES[r % QUERIES.length]!)))).ms);
    }
    return { images, requests, rows: FEATURES.map((f, k) => ({ feature: f.label, latencyMs: summarize(ms[k]!) })) };
  } finally {
    await server.close();
    await db.end();
    await s.close();
    await pg.stop();
  }
}

export type SearchFeaturesBench = Awaited<ReturnType<typeof benchSearchFeatures>>;

export function searchFeaturesMarkdown(r: SearchFeaturesBench): string {
  const base = r.rows[0]!.latencyMs;
  return [
    `**Query features**, POST /v1/search/text over loopback HTTP, ${r.images} images each with a synthetic OCR line (random vectors, embedded HNSW, PostgreSQL), ${r.requests} requests per row, round-robin in one run:`,
    '',
    '| request | ms p50 / p95 | p50 vs the first row |',
    '|---|---|---|',
    ...r.rows.map(
      (x) =>
        `| ${x.feature} | ${x.latencyMs.p50} / ${x.latencyMs.p95} | ${round(x.latencyMs.p50 - base.p50, 2) >= 0 ? '+' : ''}${round(x.latencyMs.p50 - base.p50, 2)} ms |`,
    ),
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
