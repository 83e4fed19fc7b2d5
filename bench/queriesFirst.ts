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
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Queries first is the gate's priority, lower-priority threads for ingest and its decoding stopped while a query encodes; without it, none. */
const QUERIES_FIRST = { ENCODER_SCHEDULING: 'priority', BACKGROUND_NICE: '19' };
/**
 * OCR is off in the first two, to isolate the encoder's scheduling; the third is the default service, which also reads
 * every new photo with PP-OCR: there "during ingest" lasts until OCR has read the last photo too.
 */
const VARIANTS = [
  { label: 'queries first (default), OCR off', env: { ...QUERIES_FIRST, OCR: 'off' } },
  { label: 'first come, same thread priority, OCR off', env: { ENCODER_SCHEDULING: 'fifo', BACKGROUND_NICE: '0', DECODE_PAUSE_MS: '0', OCR: 'off' } },
  { label: 'queries first, OCR on (all defaults)', env: { ...QUERIES_FIRST, OCR: 'on' } },
] as const;

async function measure(h: Harness, pack: BenchPack, dir: string, images: number, variant: (typeof VARIANTS)[number], run: string) {
  const s = await h.start(pack, {
    ADMIN_API_KEY: 'bench',
    RATE_LIMIT_PER_MINUTE: '1000000',
    TEXT_EMBEDDING_CACHE_SIZE: '0',
    ...variant.env,
    ...(process.env.BENCH_QF_RUN_MS ? { INGEST_ENCODE_RUN_MS: process.env.BENCH_QF_RUN_MS } : {}),
  });
  const server = await listen(s);
  try {
    let n = 0;
    const search = async () => (await timed(() => searchOnce(server.url, 'bench', `${QUERIES[n % QUERIES.length]} ${run}${n++}`))).ms;
    // The auto-tag vocabulary is encoded once per process start (a minute of CPU): before, or the lone ingest shares
    // the cores with it and seems slower than the one beside searches.
    await s.tagger.labels(s.pack);
    // As `npm start` does: OCR and the image stages start (with all defaults they wait for the ingest job to end).
    await s.startBackground();
    for (let i = 0; i < 5; i++) await search(); // warm-up
    /** One ingest of the folder: ms until its job is done (searchable by meaning), and until OCR has read it too. */
    const ingest = async (name: string, whileRunning?: () => Promise<void>) => {
      let done = false;
      let jobMs = 0;
      const all = timed(async () => {
        try {
          jobMs = (await timed(async () => s.ingest.runJob(await s.ingest.createFolderJob(name, dir)))).ms;
          await s.ocr?.idle();
        } finally {
          done = true;
        }
      });
      if (whileRunning) while (!done) await whileRunning();
      const allMs = (await all).ms;
      // Untimed: the idle searches that follow, and the next ingest, find the stages' work done.
      await s.stages.idle();
      return { jobMs, allMs };
    };
    // Idle searches rank the library the lone ingest built, as those during the next do: over an empty one they found nothing to look up.
    const alone = await ingest(`alone-${run}`);
    const idle: number[] = [];
    for (let i = 0; i < 60; i++) {
      idle.push(await search());
      await sleep(THINK_MS);
    }
    const during: number[] = [];
    const withSearches = await ingest(`during-${run}`, async () => {
      during.push(await search());
      await sleep(THINK_MS);
    });
    const perSec = (ms: number) => round(images / (ms / 1000), 2);
    const idleMs = summarize(idle);
    const duringMs = summarize(during);
    return {
      variant: variant.label,
      idleMs,
      duringIngestMs: duringMs,
      p95Ratio: round(duringMs.p95 / idleMs.p95, 2),
      ingestAloneImagesPerSec: perSec(alone.jobMs),
      ingestWithSearchesImagesPerSec: perSec(withSearches.jobMs),
      // With OCR on: the rate at which photos are also read, which "during ingest" waits for.
      ...(s.ocr ? { ocrAloneImagesPerSec: perSec(alone.allMs), ocrWithSearchesImagesPerSec: perSec(withSearches.allMs) } : {}),
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
  const ocr = (r: QueriesFirstBench[number]) => ('ocrAloneImagesPerSec' in r ? `${r.ocrAloneImagesPerSec} / ${r.ocrWithSearchesImagesPerSec}` : '—');
  return [
    `One search at a time with ${rows[0]?.thinkMs ?? THINK_MS} ms between (cache off) over a library of ${rows[0]?.images ?? ''} 1600×1200 photos, idle and while as many more are ingested. With OCR on, "during ingest" lasts until OCR has read the last new photo, and idle begins after it has read the first ${rows[0]?.images ?? ''}.`,
    '',
    '| model | encoder scheduling | idle ms p50 / p95 | during ingest ms p50 / p95 | p95 during / idle | ingest alone img/s | ingest with searches img/s | read by OCR too, img/s alone / with searches |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.model} | ${r.variant} | ${l(r.idleMs)} | ${l(r.duringIngestMs)} | ${r.p95Ratio} | ${r.ingestAloneImagesPerSec} | ${r.ingestWithSearchesImagesPerSec} | ${ocr(r)} |`,
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
