/**
 * npm run bench:ocr-threads — how OCR's threads are best spent on the backlog ingest leaves it: one worker on all
 * cores (the default before) against the default now (two workers, the cores shared out), on the OCR bench's phone mix
 * with the int8 architecture pack, the variants alternating, between OCR-off runs. BENCH_OCR_INGEST (80 photos),
 * BENCH_OCR_THREADS_ROUNDS (3).
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { ocrThreading } from '../src/config/env';
import { decodeOcrInput } from '../src/images/decode';
import { OcrThreads } from '../src/ocr/ocrThreads';
import { bundledOcrModelDir } from '../src/ocr/ppOcr';
import { envNumber, runStandaloneBench, type Harness } from './harness';
import { ingestRate, rgb } from './ocr';
import { writeTextFreePhotos, writeTextPhotos } from './ocrMix';
import { round, writeBenchResults } from './stats';

const VARIANTS = [
  { label: 'one worker on all cores (before)', env: { OCR_CONCURRENCY: '1', OCR_THREADS: '0' } },
  { label: 'defaults: two workers, the cores shared out', env: {} },
] as const;

/**
 * Resident memory OCR adds in a process of its own: its workers opened as the service opens them, then the photos with
 * text read twice, all handed to them at once.
 */
async function ocrMemoryMiB(files: readonly string[], env: Record<string, string>): Promise<number> {
  const { ocrWorkers, ocrThreads } = ocrThreading(Number(env.OCR_CONCURRENCY ?? 0), Number(env.OCR_THREADS ?? 0), availableParallelism());
  const before = process.memoryUsage().rss;
  const reader = await OcrThreads.open(
    { modelDir: bundledOcrModelDir(), minConfidence: 0.5, intraOpThreads: ocrThreads },
    { concurrency: ocrWorkers, nice: null },
  );
  try {
    const inputs = await Promise.all(files.map(async (f) => rgb(await decodeOcrInput(await readFile(f), 1280))));
    for (let pass = 0; pass < 2; pass++) await Promise.all(inputs.map((i) => reader.read({ ...i, data: Buffer.from(i.data) }, (run) => run())));
    return round((process.memoryUsage().rss - before) / 2 ** 20, 0);
  } finally {
    await reader.close();
  }
}

export async function benchOcrThreads(h: Harness, opts: { images: number; rounds: number }) {
  const pack = h.packs.find((p) => p.label.includes('int8')) ?? h.packs[0]!;
  const withText = Math.max(4, Math.round(opts.images * 0.15));
  const mixDir = path.join(h.root, 'ocr-mix');
  await writeTextFreePhotos(path.join(mixDir, 'without-text'), opts.images - withText, 1600, 1200, 5);
  const texts = await writeTextPhotos(path.join(mixDir, 'with-text'), withText, 5);
  const log = (msg: string) => console.error(`[bench:ocr-threads ${new Date().toISOString().slice(11, 19)}] ${msg}`);
  log('memory');
  const memoryMiB = VARIANTS.map((v) =>
    Number(
      execFileSync(process.execPath, ['--import', 'tsx', __filename, 'memory', JSON.stringify(v.env), ...texts.map((t) => t.file)], {
        encoding: 'utf8',
      }).trim(),
    ),
  );
  const off = [];
  const rows = [];
  log('OCR off');
  off.push((await ingestRate(h, pack, mixDir, opts.images, 'off', 'off-0')).imagesPerSec);
  for (let r = 0; r < opts.rounds; r++)
    for (const [v, variant] of VARIANTS.entries()) {
      log(`round ${r + 1}: ${variant.label}`);
      const on = await ingestRate(h, pack, mixDir, opts.images, 'on', `${r}-${v}`, variant.env);
      rows.push({ round: r + 1, variant: variant.label, ...on });
    }
  log('OCR off');
  off.push((await ingestRate(h, pack, mixDir, opts.images, 'off', 'off-1')).imagesPerSec);
  return { model: pack.label, images: opts.images, withText, offImagesPerSec: off, rows, memoryMiB };
}

export type OcrThreadsBench = Awaited<ReturnType<typeof benchOcrThreads>>;

export function ocrThreadsMarkdown(b: OcrThreadsBench): string {
  const mean = (xs: number[], digits = 2) => round(xs.reduce((a, x) => a + x, 0) / xs.length, digits);
  const of = (label: string) => b.rows.filter((r) => r.variant === label);
  const [before, now] = VARIANTS.map((v) => of(v.label));
  const offMean = mean(b.offImagesPerSec);
  const summary = (rows: typeof b.rows) =>
    `OCR phase ${mean(
      rows.map((r) => r.ocrPhaseS),
      1,
    )} s, ${mean(
      rows.map((r) => r.ocrPhaseCpuMsPerPhoto),
      0,
    )} ms of CPU per photo; all text read at ${mean(rows.map((r) => r.withTextPerSec))} img/s, ${round(mean(rows.map((r) => r.withTextPerSec)) / offMean, 3)} of OCR off`;
  return [
    `${b.model}, ${b.images} photos (${b.withText} with text), all defaults otherwise. OCR off: ${b.offImagesPerSec.join(' and ')} img/s (first and last run). ` +
      'The OCR phase is the time from the job done (searchable by meaning) to OCR done, and the CPU of the whole process meanwhile (OCR, with the image stages beside it).',
    '',
    '| round | variant | searchable img/s | all text read img/s | OCR phase s | OCR phase CPU ms / photo |',
    '|---|---|---|---|---|---|',
    ...b.rows.map((r) => `| ${r.round} | ${r.variant} | ${r.imagesPerSec} | ${r.withTextPerSec} | ${r.ocrPhaseS} | ${r.ocrPhaseCpuMsPerPhoto} |`),
    '',
    `Mean, ${VARIANTS[0].label}: ${summary(before!)}.`,
    '',
    `Mean, ${VARIANTS[1].label}: ${summary(now!)}.`,
    '',
    `Resident memory OCR adds (a process of its own: the workers opened, the ${b.withText} photos with text read twice, all handed over at once): ` +
      VARIANTS.map((v, i) => `${b.memoryMiB[i]} MiB with ${v.label}`).join(', ') +
      '.',
    '',
  ].join('\n');
}

if (require.main === module && process.argv[2] === 'memory')
  void ocrMemoryMiB(process.argv.slice(4), JSON.parse(process.argv[3]!) as Record<string, string>).then((mib) => console.log(mib));
else if (require.main === module)
  runStandaloneBench(async (h, started) => {
    const result = await benchOcrThreads(h, { images: envNumber('BENCH_OCR_INGEST', 80), rounds: envNumber('BENCH_OCR_THREADS_ROUNDS', 3) });
    await writeBenchResults('ocr-threads', "OCR's threads on the backlog", 'npm run bench:ocr-threads', started, result, ocrThreadsMarkdown(result));
  });
