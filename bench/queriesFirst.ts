/**
 * Searches while an ingest runs: a person types a query now and then (one at a time, a pause between)
 * while their library is imported. Search latency idle and during ingest, and what it costs ingest,
 * with queries first (the default) and without it, per pack, in one run.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { writePhotoLikeJpegs } from './fixtures';
import { envNumber, runStandaloneBench, type BenchPack, type Harness } from './harness';
import { listen, searchOnce } from './query';
import { round, summarize, timed } from './stats';

const QUERIES = ['海边的日落', '穿红裙子的小女孩', '一只在草地上奔跑的狗', '雪山和湖泊', '城市夜景', '桌上的咖啡和书', '下雨的街道', '生日蛋糕'];
const THINK_MS = 150;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Queries first is the gate's priority, lower-priority threads for ingest and its decoding stopped while a query encodes; without it, none. */
const VARIANTS = [
  { label: 'queries first (default)', env: { ENCODER_SCHEDULING: 'priority', BACKGROUND_NICE: '19' } },
  { label: 'first come, same thread priority', env: { ENCODER_SCHEDULING: 'fifo', BACKGROUND_NICE: '0', DECODE_PAUSE_MS: '0' } },
] as const;

async function measure(h: Harness, pack: BenchPack, dir: string, images: number, variant: (typeof VARIANTS)[number], run: string) {
  const s = await h.start(pack, {
    ADMIN_API_KEY: 'bench',
    RATE_LIMIT_PER_MINUTE: '1000000',
    TEXT_EMBEDDING_CACHE_SIZE: '0',
    OCR: 'off',
    ...variant.env,
    ...(process.env.BENCH_QF_RUN_MS ? { INGEST_ENCODE_RUN_MS: process.env.BENCH_QF_RUN_MS } : {}),
  });
  const server = await listen(s);
  try {
    let n = 0;
    const search = async () => (await timed(() => searchOnce(server.url, 'bench', `${QUERIES[n % QUERIES.length]} ${run}${n++}`))).ms;
    for (let i = 0; i < 5; i++) await search(); // warm-up
    // Idle searches rank the library the lone ingest built, as those during the next do: over an empty one they found nothing to look up.
    const alone = await timed(async () => s.ingest.runJob(await s.ingest.createFolderJob(`alone-${run}`, dir)));
    const idle: number[] = [];
    for (let i = 0; i < 60; i++) {
      idle.push(await search());
      await sleep(THINK_MS);
    }
    const during: number[] = [];
    let finished = false;
    const job = timed(async () => {
      await s.ingest.runJob(await s.ingest.createFolderJob(`during-${run}`, dir));
      finished = true;
    });
    while (!finished) {
      during.push(await search());
      await sleep(THINK_MS);
    }
    const withSearches = await job;
    const idleMs = summarize(idle);
    const duringMs = summarize(during);
    return {
      variant: variant.label,
      idleMs,
      duringIngestMs: duringMs,
      p95Ratio: round(duringMs.p95 / idleMs.p95, 2),
      ingestAloneImagesPerSec: round(images / (alone.ms / 1000), 2),
      ingestWithSearchesImagesPerSec: round(images / (withSearches.ms / 1000), 2),
    };
  } finally {
    await server.close();
    await s.close();
  }
}

export async function benchQueriesFirst(h: Harness, opts: { images: number }) {
  const dir = path.join(h.root, 'queries-first-photos');
  await writePhotoLikeJpegs(dir, opts.images, 1600, 1200, 9);
  const out = [];
  for (const [i, pack] of h.packs.filter((p) => !p.label.includes('test pack')).entries()) {
    for (const [v, variant] of VARIANTS.entries()) {
      console.error(`[bench] queries first: ${pack.label}, ${variant.label}`);
      out.push({ model: pack.label, images: opts.images, thinkMs: THINK_MS, ...(await measure(h, pack, dir, opts.images, variant, `${i}-${v}`)) });
    }
  }
  return out;
}

export type QueriesFirstBench = Awaited<ReturnType<typeof benchQueriesFirst>>;

export function queriesFirstMarkdown(rows: QueriesFirstBench): string {
  const l = (x: { p50: number; p95: number }) => `${x.p50} / ${x.p95}`;
  return [
    `One search at a time with ${rows[0]?.thinkMs ?? THINK_MS} ms between (cache off) over a library of ${rows[0]?.images ?? ''} 1600×1200 photos, idle and while as many more are ingested (OCR off, to isolate the encoder's scheduling).`,
    '',
    '| model | encoder scheduling | idle ms p50 / p95 | during ingest ms p50 / p95 | p95 during / idle | ingest alone img/s | ingest with searches img/s |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.model} | ${r.variant} | ${l(r.idleMs)} | ${l(r.duringIngestMs)} | ${r.p95Ratio} | ${r.ingestAloneImagesPerSec} | ${r.ingestWithSearchesImagesPerSec} |`,
    ),
    '',
  ].join('\n');
}

if (require.main === module)
  runStandaloneBench(async (h, started) => {
    const rows = await benchQueriesFirst(h, { images: envNumber('BENCH_QF_IMAGES', 120) });
    await writeFile(path.resolve(__dirname, 'queries-first-results.json'), `${JSON.stringify({ started, rows }, null, 2)}\n`);
    await writeFile(
      path.resolve(__dirname, 'queries-first-results.md'),
      `# Searches during ingest\n\n${started}. Regenerate: \`npm run bench:queries-first\`.\n\n${queriesFirstMarkdown(rows)}`,
    );
    console.log(queriesFirstMarkdown(rows));
  });
