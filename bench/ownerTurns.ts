/**
 * A library is imported, and a few seconds in, three photos are added: by another owner sharing the service, or by
 * the same owner (from a phone, say). How long the three wait to be searchable, with jobs taking turns at the ingest
 * worker (JOB_TURN_MS, 10 s by default) and without (0), and what the turns cost the import; all variants in one
 * run, alternating.
 */
import path from 'node:path';
import { writePhotoLikeJpegs } from './fixtures';
import { envNumber, runStandaloneBench, type BenchPack, type Harness } from './harness';
import { round, writeBenchResults } from './stats';

const VARIANTS = [
  { label: 'jobs take turns (JOB_TURN_MS=10000, the default), another owner adds', env: {}, sameOwner: false },
  { label: 'jobs take turns, the same owner adds', env: {}, sameOwner: true },
  { label: 'a job runs to its end (JOB_TURN_MS=0), another owner adds', env: { JOB_TURN_MS: '0' }, sameOwner: false },
] as const;
const SMALL_PHOTOS = 3;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Dirs {
  big: string;
  small: string;
}

/** `run` names this run's owners: the harness's database is shared, and photos an owner already has are skipped. */
async function measure(h: Harness, pack: BenchPack, dirs: Dirs, smallAfterMs: number, variant: (typeof VARIANTS)[number], run: string) {
  const s = await h.start(pack, { ...variant.env });
  try {
    // Untimed: the auto-tag vocabulary is encoded once per start (a minute of CPU here).
    await s.tagger.labels(s.pack);
    // As `npm start` does (with all defaults OCR and the image stages wait for ingest).
    await s.startBackground();
    const ended = async (jobId: string) => {
      for (;;) {
        const job = await s.ingest.status(jobId);
        if (job && job.state !== 'queued' && job.state !== 'running') return performance.now();
        await sleep(50);
      }
    };
    const start = performance.now();
    const big = await s.ingest.createFolderJob(`big-${run}`, dirs.big);
    s.ingest.enqueue(big);
    const bigEnded = ended(big);
    await sleep(smallAfterMs);
    const smallQueued = performance.now();
    const small = await s.ingest.createFolderJob(variant.sameOwner ? `big-${run}` : `small-${run}`, dirs.small);
    s.ingest.enqueue(small);
    const [smallAt, bigAt] = await Promise.all([ended(small), bigEnded]);
    return { variant: variant.label, smallWaitS: round((smallAt - smallQueued) / 1000, 1), bigImportS: round((bigAt - start) / 1000, 1) };
  } finally {
    await s.close();
  }
}

export async function benchOwnerTurns(h: Harness, opts: { images: number; rounds: number; smallAfterMs: number }) {
  const dirs = { big: path.join(h.root, 'turns-big'), small: path.join(h.root, 'turns-small') };
  await writePhotoLikeJpegs(dirs.big, opts.images, 1600, 1200, 21);
  await writePhotoLikeJpegs(dirs.small, SMALL_PHOTOS, 1600, 1200, 22);
  const pack = h.packs.find((p) => p.label.includes('int8')) ?? h.packs[0]!;
  const rows = [];
  for (let r = 0; r < opts.rounds; r++)
    for (const [v, variant] of VARIANTS.entries()) {
      console.error(`[bench] turns: round ${r + 1}, ${variant.label}`);
      rows.push({ round: r + 1, ...(await measure(h, pack, dirs, opts.smallAfterMs, variant, `${r}-${v}`)) });
    }
  return { model: pack.label, images: opts.images, smallPhotos: SMALL_PHOTOS, smallAfterS: opts.smallAfterMs / 1000, rows };
}

export type OwnerTurnsBench = Awaited<ReturnType<typeof benchOwnerTurns>>;

export function ownerTurnsMarkdown(b: OwnerTurnsBench): string {
  const mean = (xs: number[]) => round(xs.reduce((a, x) => a + x, 0) / xs.length, 1);
  const [other, same, whole] = VARIANTS.map((v) => b.rows.filter((r) => r.variant === v.label));
  const wait = (rows: typeof b.rows) => mean(rows.map((r) => r.smallWaitS));
  const importS = (rows: typeof b.rows) => mean(rows.map((r) => r.bigImportS));
  return [
    `${b.model}, all defaults otherwise. An import of ${b.images} photos of 1600×1200 (a folder job); ${b.smallAfterS} s later ${b.smallPhotos} photos are added (a second folder job), by another owner or by the same one. Seconds from the second job being queued to its photos being searchable, and the whole import; the variants alternate.`,
    '',
    '| round | variant | the 3 photos wait, s | the import takes, s |',
    '|---|---|---|---|',
    ...b.rows.map((r) => `| ${r.round} | ${r.variant} | ${r.smallWaitS} | ${r.bigImportS} |`),
    '',
    `Mean: the 3 photos wait ${wait(other!)} s (another owner's) and ${wait(same!)} s (the same owner's) with turns, against ${wait(whole!)} s without; the import takes ${round(importS(other!) / importS(whole!), 2)} × as long with turns.`,
    '',
  ].join('\n');
}

if (require.main === module)
  runStandaloneBench(async (h, started) => {
    const result = await benchOwnerTurns(h, {
      images: envNumber('BENCH_TURNS_IMAGES', 300),
      rounds: envNumber('BENCH_TURNS_ROUNDS', 2),
      smallAfterMs: envNumber('BENCH_TURNS_SMALL_AFTER_MS', 5000),
    });
    await writeBenchResults('owner-turns', 'Jobs taking turns at the ingest worker', 'npm run bench:turns', started, result, ownerTurnsMarkdown(result));
  });
