/**
 * OCR figures: accuracy (character error rate) on rendered Chinese text across fonts, sizes, rotations,
 * noise and JPEG quality; OCR cost per image and its effect on ingest throughput; text, semantic and
 * hybrid query latency; ranking quality of the fusion; and the text index (tsvector of folded character
 * pairs) against pg_trgm and a plain LIKE scan on recall and speed.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';
import sharp from 'sharp';
import { bundledOcrModelDir, PpOcr } from '../src/ocr/ppOcr';
import { foldText, indexTokens, runPairs } from '../src/ocr/textTokens';
import { syntheticOcrLines } from './ocrLines';
import { linearFusion, type Ranked } from '../src/search/rankFusion';
import { COLOURS } from '../scripts/test-pack/concepts';
import { textImage } from './fixtures';
import { TEXTS, writeTextFreePhotos, writeTextPhotos, type MixPhoto } from './ocrMix';
import { decodeOcrInput } from '../src/images/decode';
import type { BenchPack, Harness } from './harness';
import { listen } from './query';
import { median, round, summarize, timed, timedCpu } from './stats';

const FONTS = ['WenQuanYi Zen Hei', 'AR PL UMing CN', 'AR PL UKai CN'];
const SIZES = [18, 28, 48];
const ROTATIONS = [0, 4];
const DEGRADATIONS = [
  { label: 'clean png', noise: 0, format: 'png' as const, quality: 95 },
  { label: 'noise σ15, jpeg q50', noise: 15, format: 'jpeg' as const, quality: 50 },
];

const squash = (s: string) => foldText(s).replace(/\s+/g, '');

function editDistance(a: readonly string[], b: readonly string[]): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** A photo as OCR reads it: its longest side at most `maxSide`, RGB bytes. */
export async function rgb(buf: Buffer, maxSide = 1280) {
  const { data, info } = await sharp(buf)
    .resize(maxSide, maxSide, { fit: 'inside', withoutEnlargement: true })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

interface Cell {
  errors: number;
  chars: number;
}
const cer = (c: Cell) => round(c.errors / Math.max(1, c.chars), 4);

async function accuracy(reader: PpOcr) {
  const by: Record<string, Record<string, Cell>> = { font: {}, size: {}, rotation: {}, degradation: {} };
  const total: Cell = { errors: 0, chars: 0 };
  let images = 0;
  let linesFound = 0;
  let linesTotal = 0;
  for (const t of TEXTS)
    for (const font of FONTS)
      for (const size of SIZES)
        for (const rotate of ROTATIONS)
          for (const d of DEGRADATIONS) {
            const img = await textImage(t.lines, {
              width: Math.max(480, size * 16),
              fontSize: size,
              font,
              rotate,
              noise: d.noise,
              format: d.format,
              quality: d.quality,
            });
            const read = await reader.read(await rgb(img));
            const ref = [...squash(t.lines.join(''))];
            const hyp = [...squash(read.map((l) => l.text).join(''))];
            const e = editDistance(ref, hyp);
            images++;
            total.errors += e;
            total.chars += ref.length;
            const got = new Set(read.map((l) => squash(l.text)));
            linesTotal += t.lines.length;
            linesFound += t.lines.filter((l) => got.has(squash(l))).length;
            for (const [k, v] of [
              ['font', font],
              ['size', `${size}px`],
              ['rotation', `${rotate}°`],
              ['degradation', d.label],
            ] as const) {
              const cell = (by[k]![v] ??= { errors: 0, chars: 0 });
              cell.errors += e;
              cell.chars += ref.length;
            }
          }
  const table = Object.fromEntries(Object.entries(by).map(([k, cells]) => [k, Object.fromEntries(Object.entries(cells).map(([v, c]) => [v, cer(c)]))]));
  return { images, characterErrorRate: cer(total), exactLineRate: round(linesFound / linesTotal, 3), byFactor: table };
}

async function cost(threads: number) {
  const reader = await PpOcr.open({ modelDir: bundledOcrModelDir(), minConfidence: 0.5, intraOpThreads: threads });
  // A 12 MP phone photo of a notice: decode + scale to 1280 + detection + recognition.
  const photo = await textImage(TEXTS[5]!.lines, { width: 4032, height: 3024, fontSize: 160, format: 'jpeg', quality: 85, noise: 6 });
  const ms: number[] = [];
  for (let i = 0; i < 12; i++) ms.push((await timed(async () => reader.read(await rgb(photo)))).ms);
  await reader.close();
  return summarize(ms.slice(2));
}

/**
 * One ingest of `folder` by a new owner with OCR on or off, background work started as `npm start` starts it: the rate at
 * which the photos became searchable by meaning (the job done) and by their words (OCR done too), and what the OCR
 * phase after the job took (seconds, and CPU of the whole process per photo: OCR with the image stages beside it).
 */
export async function ingestRate(
  h: Harness,
  pack: BenchPack,
  folder: string,
  images: number,
  ocr: 'on' | 'off',
  run: string,
  env: Record<string, string> = {},
) {
  const s = await h.start(pack, { OCR: ocr, ...env });
  try {
    // The auto-tag vocabulary is encoded once per process start (a minute of CPU with this pack): first, so that it
    // overlaps neither run.
    await s.tagger.labels(s.pack);
    // As `npm start` does: OCR and the image stages start (with all defaults they wait for the ingest job to end).
    await s.startBackground();
    const start = performance.now();
    // An owner per run: the same bytes under another owner are new images, so neither run skips any.
    const jobId = await s.ingest.createFolderJob(`bench-ocr-${run}-${ocr}`, folder);
    await s.ingest.runJob(jobId);
    const searchable = performance.now() - start;
    const { cpuMs } = await timedCpu(async () => s.ocr?.idle());
    const read = performance.now() - start;
    // Untimed: the stages' rest is done here, or the next run (same database) would do it on its clock.
    await s.stages.idle();
    return {
      imagesPerSec: round(images / (searchable / 1000), 2),
      withTextPerSec: round(images / (read / 1000), 2),
      ocrPhaseS: round((read - searchable) / 1000, 1),
      ocrPhaseCpuMsPerPhoto: round(cpuMs / images, 0),
      ocr: (await s.ingest.status(jobId))?.ocr,
    };
  } finally {
    await s.close();
  }
}

interface GlimpseRow {
  kind: string;
  lines: string[];
  cpuMs: { off: number; on: number };
  read: { off: string[]; on: string[] };
  glimpseSaysText: boolean;
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * What the OCR stage spends on each photo of the mix, with the glimpse and without, on one thread: the input ingest
 * stores (1280 px JPEG) decoded as the stage decodes it, then read. CPU of the whole process (libvips' threads too).
 */
async function glimpseCost(photos: readonly MixPhoto[]) {
  const settings = { modelDir: bundledOcrModelDir(), minConfidence: 0.5, intraOpThreads: 1 };
  const readers = { off: await PpOcr.open({ ...settings, glimpsePixels: 0 }), on: await PpOcr.open(settings) };
  try {
    const inputs = await Promise.all(photos.map(async (p) => decodeOcrInput(await readFile(p.file), 1280)));
    const rows: GlimpseRow[] = photos.map((p) => ({
      kind: p.kind,
      lines: p.lines,
      cpuMs: { off: 0, on: 0 },
      read: { off: [], on: [] },
      glimpseSaysText: false,
    }));
    // One configuration over every photo, then the other, as a service runs one: alternating them per photo left
    // each with the other's caches and measured the glimpse half as fast again as it runs alone.
    for (const mode of ['off', 'on'] as const) {
      for (const [i, input] of [...inputs.slice(0, 3), ...inputs].entries()) {
        const c0 = cpuMs();
        const { data, info } = await sharp(input).rotate().removeAlpha().raw().toBuffer({ resolveWithObject: true });
        const read = (await readers[mode].read({ data, width: info.width, height: info.height })).map((l) => l.text);
        // The first three are warm-up (the models' first runs allocate), read again after.
        if (i < 3) continue;
        const row = rows[i - 3]!;
        row.cpuMs[mode] = cpuMs() - c0;
        row.read[mode] = read;
        if (mode === 'on') row.glimpseSaysText = await readers.on.mayHoldText({ data, width: info.width, height: info.height });
      }
    }
    const free = rows.filter((r) => r.lines.length === 0);
    const text = rows.filter((r) => r.lines.length > 0);
    const cer = (rs: typeof rows, mode: 'off' | 'on') => {
      const e = rs.reduce((n, r) => n + editDistance([...squash(r.lines.join(''))], [...squash(r.read[mode].join(''))]), 0);
      return round(
        e /
          Math.max(
            1,
            rs.reduce((n, r) => n + [...squash(r.lines.join(''))].length, 0),
          ),
        4,
      );
    };
    const mean = (xs: number[]) => round(xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length), 1);
    const kinds = [...new Set(rows.map((r) => r.kind))];
    return {
      textFree: {
        photos: free.length,
        cpuMs: { off: summarize(free.map((r) => r.cpuMs.off)), on: summarize(free.map((r) => r.cpuMs.on)) },
        /** Text-free photos the glimpse sent on to the full detection. */
        glimpseSaysText: free.filter((r) => r.glimpseSaysText).length,
      },
      withText: {
        photos: text.length,
        cpuMs: { off: summarize(text.map((r) => r.cpuMs.off)), on: summarize(text.map((r) => r.cpuMs.on)) },
        /** Photos where the full detection read a line and the glimpse saw none. */
        glimpseMissed: text.filter((r) => r.read.off.length > 0 && !r.glimpseSaysText).length,
        characterErrorRate: { off: cer(text, 'off'), on: cer(text, 'on') },
      },
      byKind: kinds.map((k) => {
        const of = rows.filter((r) => r.kind === k);
        return { kind: k, photos: of.length, meanCpuMs: { off: mean(of.map((r) => r.cpuMs.off)), on: mean(of.map((r) => r.cpuMs.on)) } };
      }),
    };
  } finally {
    await Promise.all([readers.off.close(), readers.on.close()]);
  }
}

type Mode = 'semantic' | 'ocr' | 'hybrid';

/** Ranking quality and latency per mode, on a library of rendered text images and colour photos (test pack: its encoder knows colours). */
async function queries(h: Harness, testPack: BenchPack, requests: number) {
  const dir = path.join(h.root, 'ocr-library');
  await mkdir(dir, { recursive: true });
  const owners = new Map<string, string>();
  let n = 0;
  for (const t of TEXTS)
    for (const font of FONTS)
      for (const size of [24, 40]) {
        const file = `${t.name}-${n++}.png`;
        await writeFile(path.join(dir, file), await textImage(t.lines, { width: 640, fontSize: size, font }));
        owners.set(file, t.name);
      }
  const colours = ['red', 'blue', 'green', 'yellow', 'purple', 'orange'];
  for (const c of colours) {
    const [r, g, b] = COLOURS.find((x) => x.key === c)!.rgb;
    for (let i = 0; i < 4; i++) {
      const photo = sharp({ create: { width: 96 + i, height: 64, channels: 3, background: { r, g, b } } });
      await writeFile(path.join(dir, `${c}-${i}.png`), await photo.png().toBuffer());
    }
  }
  const s = await h.start(testPack, { ADMIN_API_KEY: 'bench', RATE_LIMIT_PER_MINUTE: '1000000', TEXT_EMBEDDING_CACHE_SIZE: '0' });
  const server = await listen(s);
  try {
    await s.ingest.runJob(await s.ingest.createFolderJob('bench', dir));
    await s.ocr?.idle();
    const ask = async (query: string, mode: Mode, limit = 10) => {
      const res = await fetch(`${server.url}/v1/search/text`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer bench' },
        body: JSON.stringify({ query, mode, limit }),
      });
      return ((await res.json()) as { hits: { id: string; source: string; score: number }[] }).hits;
    };
    const words = ['发票', '炸酱面', '西站', '地铁', '验证码', '384912', '虹桥', '二等座', '鸡丁', '豆腐', '停车', '营业时间'];
    const textOf = (word: string) => TEXTS.filter((t) => t.lines.join('').includes(word)).map((t) => t.name);
    const colourWords: Record<string, string> = { red: '红色', blue: '蓝色', green: '绿色', yellow: '黄色', purple: '紫色', orange: '橙色' };
    const relevantFor = (q: { kind: 'text' | 'colour'; key: string }) => (src: string) => {
      const f = path.basename(src);
      return q.kind === 'text' ? textOf(q.key).includes(owners.get(f) ?? '') : f.startsWith(`${q.key}-`);
    };
    const qs = [
      ...words.map((w) => ({ kind: 'text' as const, key: w, query: w })),
      ...colours.map((c) => ({ kind: 'colour' as const, key: c, query: colourWords[c]! })),
    ];
    const quality: Record<string, Record<string, { mrr: number; recallAt10: number }>> = {};
    const score = (label: string, kind: string, ranked: string[], relevant: (src: string) => boolean, relevantCount: number) => {
      const q = ((quality[label] ??= {})[kind] ??= { mrr: 0, recallAt10: 0 });
      const first = ranked.findIndex(relevant);
      q.mrr += first >= 0 && first < 10 ? 1 / (first + 1) : 0;
      q.recallAt10 += ranked.slice(0, 10).filter(relevant).length / Math.max(1, Math.min(10, relevantCount));
    };
    const all = [...owners.keys(), ...colours.flatMap((c) => [0, 1, 2, 3].map((i) => `${c}-${i}.png`))];
    for (const q of qs) {
      const relevant = relevantFor(q);
      const count = all.filter((f) => relevant(f)).length;
      const [sem, txt, hyb] = await Promise.all((['semantic', 'ocr', 'hybrid'] as const).map((m) => ask(q.query, m, 50)));
      const src = new Map([...sem!, ...txt!, ...hyb!].map((x) => [x.id, x.source]));
      const srcs = (list: { id: string }[]) => list.map((x) => src.get(x.id)!);
      score('semantic', q.kind, srcs(sem!), relevant, count);
      score('ocr', q.kind, srcs(txt!), relevant, count);
      score('hybrid (RRF, k=60)', q.kind, srcs(hyb!), relevant, count);
      // The same halves fused the other way, for comparison (HYBRID_FUSION=linear).
      const rank = (l: { id: string; score: number }[]): Ranked[] => l.map((x) => ({ id: x.id, score: x.score }));
      score('linear 0.5/0.5 (min-max)', q.kind, srcs(linearFusion(rank(sem!), rank(txt!))), relevant, count);
    }
    const counts = { text: words.length, colour: colours.length };
    for (const byKind of Object.values(quality))
      for (const [kind, v] of Object.entries(byKind)) {
        v.mrr = round(v.mrr / counts[kind as 'text' | 'colour'], 3);
        v.recallAt10 = round(v.recallAt10 / counts[kind as 'text' | 'colour'], 3);
      }
    const latency: Record<string, ReturnType<typeof summarize>> = {};
    for (const mode of ['semantic', 'ocr', 'hybrid'] as const) {
      const ms: number[] = [];
      for (let i = 0; i < requests; i++) ms.push((await timed(() => ask(qs[i % qs.length]!.query, mode, 20))).ms);
      latency[mode] = summarize(ms);
    }
    return { library: all.length, queries: { text: words.length, colour: colours.length }, quality, latencyMs: latency };
  } finally {
    await server.close();
    await s.close();
  }
}

/** The text index against pg_trgm and a LIKE scan, on synthetic OCR lines. */
async function indexes(databaseUrl: string, rows: number) {
  const line = syntheticOcrLines(7);
  let seed = 11;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    await db.query('DROP TABLE IF EXISTS bench_ocr');
    await db.query('CREATE TABLE bench_ocr (id serial PRIMARY KEY, content text NOT NULL, tokens tsvector NOT NULL)');
    const contents = Array.from({ length: rows }, () => line());
    for (let i = 0; i < rows; i += 2000) {
      const page = contents.slice(i, i + 2000).map((c) => foldText(c));
      await db.query('INSERT INTO bench_ocr (content, tokens) SELECT c, array_to_tsvector(t::text[]) FROM unnest($1::text[], $2::text[]) AS u(c, t)', [
        page,
        page.map(
          (c) =>
            `{${indexTokens(c)
              .map((t) => `"${t.replace(/["\\]/g, '\\$&')}"`)
              .join(',')}}`,
        ),
      ]);
    }
    // Substrings of real rows, 2 to 6 characters: whole words, parts of words, across word boundaries.
    const queriesList = Array.from({ length: 60 }, () => {
      const c = [...contents[rand(rows)]!];
      const len = 2 + rand(5);
      const start = rand(Math.max(1, c.length - len));
      return foldText(c.slice(start, start + len).join(''));
    });
    // The right answers, by a sequential LIKE scan before any index exists.
    const like = (q: string) => `%${q.replace(/[\\%_]/g, '\\$&')}%`;
    const truth: Set<number>[] = [];
    for (const q of queriesList)
      truth.push(new Set((await db.query<{ id: number }>('SELECT id FROM bench_ocr WHERE content LIKE $1', [like(q)])).rows.map((r) => r.id)));
    const build = async (sql: string) => (await timed(() => db.query(sql))).ms;
    const tsvBuildMs = await build('CREATE INDEX bench_ocr_tokens ON bench_ocr USING GIN (tokens)');
    let trgm: { buildMs: number } | { unavailable: string };
    try {
      await db.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
      trgm = { buildMs: await build('CREATE INDEX bench_ocr_trgm ON bench_ocr USING GIN (content gin_trgm_ops)') };
    } catch (e) {
      trgm = { unavailable: (e as Error).message };
    }
    await db.query('ANALYZE bench_ocr');
    const collation = (await db.query<{ datcollate: string }>('SELECT datcollate FROM pg_database WHERE datname = current_database()')).rows[0]?.datcollate;
    const tsq = (q: string) =>
      runPairs(foldText(q))
        .map((t) => `'${t.replace(/'/g, "''")}'`)
        .join(' & ');
    const run = async (label: string, sql: string, params: (q: string) => string[]) => {
      const ms: number[] = [];
      let recall = 0;
      let precision = 0;
      for (const [i, q] of queriesList.entries()) {
        const { value, ms: t } = await timed(() => db.query<{ id: number }>(sql, params(q)));
        ms.push(t);
        const got = value.rows.map((r) => r.id);
        const want = truth[i]!;
        recall += want.size ? got.filter((id) => want.has(id)).length / want.size : 1;
        precision += got.length ? got.filter((id) => want.has(id)).length / got.length : want.size ? 0 : 1;
      }
      return { label, recall: round(recall / queriesList.length, 3), precision: round(precision / queriesList.length, 3), latencyMs: summarize(ms) };
    };
    const results = [
      await run('tsvector of character pairs (GIN), as the service queries it', 'SELECT id FROM bench_ocr WHERE tokens @@ $1::tsquery', (q) => [tsq(q)]),
      await run('tsvector pairs + LIKE recheck (exact substrings)', 'SELECT id FROM bench_ocr WHERE tokens @@ $1::tsquery AND content LIKE $2', (q) => [
        tsq(q),
        like(q),
      ]),
      ...('buildMs' in trgm ? [await run('pg_trgm GIN, LIKE %q%', 'SELECT id FROM bench_ocr WHERE content LIKE $1', (q) => [like(q)])] : []),
    ];
    await db.query('DROP INDEX IF EXISTS bench_ocr_trgm');
    await db.query('DROP INDEX IF EXISTS bench_ocr_tokens');
    const seqMs: number[] = [];
    for (const q of queriesList) seqMs.push((await timed(() => db.query('SELECT id FROM bench_ocr WHERE content LIKE $1', [like(q)]))).ms);
    const size = (await db.query<{ s: string }>("SELECT pg_size_pretty(pg_total_relation_size('bench_ocr')) AS s")).rows[0]?.s;
    await db.query('DROP TABLE bench_ocr');
    return {
      rows,
      collation,
      tableSize: size,
      tsvectorBuildMs: round(tsvBuildMs),
      trgm,
      results: [...results, { label: 'LIKE %q%, no index (sequential scan)', recall: 1, precision: 1, latencyMs: summarize(seqMs) }],
    };
  } finally {
    await db.end();
  }
}

/** A missing font silently falls back to another, and the "fonts" would all be one (same bytes, one image). */
function requireFonts(): void {
  const families = execFileSync('fc-list', [':', 'family'], { encoding: 'utf8' });
  const missing = FONTS.filter((f) => !families.includes(f));
  if (missing.length) throw new Error(`bench:ocr renders with ${missing.join(', ')}: apt-get install fonts-wqy-zenhei fonts-arphic-uming fonts-arphic-ukai`);
}

export async function benchOcr(h: Harness, opts: { ingestImages: number; requests: number; indexRows: number; ingestRounds: number }) {
  requireFonts();
  const log = (msg: string) => console.error(`[bench:ocr ${new Date().toISOString().slice(11, 19)}] ${msg}`);
  const reader = await PpOcr.open({ modelDir: bundledOcrModelDir(), minConfidence: 0, intraOpThreads: 1 });
  log('accuracy on rendered text');
  const acc = await accuracy(reader);
  await reader.close();
  log('cost per image');
  const costMs = { oneThread: await cost(1), allCores: await cost(0) };
  // A phone library's mix: 85 % photos without text, 15 % screenshots, receipts, menus and signs.
  const withText = Math.max(4, Math.round(opts.ingestImages * 0.15));
  const mixDir = path.join(h.root, 'ocr-mix');
  const mix = [
    ...(await writeTextFreePhotos(path.join(mixDir, 'without-text'), opts.ingestImages - withText, 1600, 1200, 5)),
    ...(await writeTextPhotos(path.join(mixDir, 'with-text'), withText, 5)),
  ];
  log('OCR cost per photo of the mix, with and without the glimpse');
  const glimpse = await glimpseCost(mix);
  log('ingest of the mix with OCR on and off');
  const ingest = [];
  for (const [i, pack] of h.packs.filter((p) => !p.label.includes('test pack')).entries()) {
    // Off and on alternate, and each rate is the median of its runs: one pass of each moved a ratio by a fifth here
    // (OCR on came out 0.79 of OCR off while searchable by meaning, the very same work).
    const rounds = [];
    for (let r = 0; r < Math.max(1, opts.ingestRounds); r++) {
      const off = await ingestRate(h, pack, mixDir, mix.length, 'off', `${i}-${r}`);
      const on = await ingestRate(h, pack, mixDir, mix.length, 'on', `${i}-${r}`);
      rounds.push({ offImagesPerSec: off.imagesPerSec, onImagesPerSec: on.imagesPerSec, onWithTextPerSec: on.withTextPerSec, ocr: on.ocr });
    }
    const off = median(rounds.map((r) => r.offImagesPerSec));
    const on = median(rounds.map((r) => r.onImagesPerSec));
    const withTextPerSec = median(rounds.map((r) => r.onWithTextPerSec));
    ingest.push({
      model: pack.label,
      images: mix.length,
      withText,
      offImagesPerSec: off,
      onImagesPerSec: on,
      ratio: round(on / off, 3),
      onWithTextPerSec: withTextPerSec,
      withTextRatio: round(withTextPerSec / off, 3),
      ocr: rounds.at(-1)!.ocr,
      rounds,
    });
  }
  log('queries: quality and latency per mode');
  const testPack = h.packs.find((p) => p.label.includes('test pack')) ?? h.packs[0]!;
  const query = { model: testPack.label, ...(await queries(h, testPack, opts.requests)) };
  log('text index comparison');
  const index = await indexes(h.databaseUrl, opts.indexRows);
  return { engine: reader.key, accuracy: acc, costMs, glimpse, ingest, query, index };
}

export type OcrBench = Awaited<ReturnType<typeof benchOcr>>;
