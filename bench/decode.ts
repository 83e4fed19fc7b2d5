/**
 * npm run bench:decode — CPU of the whole decode of a new 12 MP photo (tensor, preview, thumbnail, near-duplicate
 * hash and sharpness, and OCR's 1280 px input when OCR is on, as it is by default), this tree against an earlier
 * commit's decode (BENCH_DECODE_BASELINE, extracted with `git archive` and run in this process on this tree's
 * node_modules), interleaved on the same files in one run; and each version's tensor against Chinese-CLIP's
 * transform computed by Pillow from the full image (mean |d|, normalised units).
 *
 * One libvips thread, as in ingest's decode processes' share of a core: what is counted is CPU, not wall time.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { DEFAULT_DECODE_LIMITS, decodeImage, type DecodeLimits } from '../src/images/decode';
import { extractCommit } from './baselineTree';
import { CHINESE_CLIP_PREP, denseTextImage, smoothPhoto, writePhotoLikeJpegs, writeSceneJpegs } from './fixtures';
import { envNumber } from './harness';
import { round, summarize, timedCpu, writeBenchResults } from './stats';

const run = promisify(execFile);
const REPO = path.resolve(__dirname, '..');
/** The decode before issue 37 item 2: the tensor's decode, and OCR's input decoded again from the file. */
const BASELINE_COMMIT = process.env.BENCH_DECODE_BASELINE ?? '5859778';
const PYTHON = process.env.REFERENCE_PYTHON ?? '/usr/bin/python3';
const OCR_SIDE = 1280;
/** A 12 MP phone photo. */
const [WIDTH, HEIGHT] = [4000, 3000];
/** Issue 37's bound on the whole decode of a 12 MP JPEG. */
export const DECODE_GOAL_MS = 30;

type Decode = typeof decodeImage;

/** 12 MP (4000×3000) JPEGs of every kind the fixtures make, and their Pillow reference tensors. */
async function photos(dir: string): Promise<{ name: string; data: Buffer; reference: Float32Array }[]> {
  await mkdir(dir, { recursive: true });
  const files = [...(await writePhotoLikeJpegs(dir, 3, WIDTH, HEIGHT, 9)), ...(await writeSceneJpegs(dir, 3, WIDTH, HEIGHT, 3))];
  for (const [name, data] of [
    ['smooth.jpg', await smoothPhoto(WIDTH, HEIGHT, 5).jpeg({ quality: 92 }).toBuffer()],
    [
      'text.jpg',
      await sharp(await denseTextImage(WIDTH, HEIGHT))
        .jpeg({ quality: 92 })
        .toBuffer(),
    ],
  ] as const) {
    files.push(path.join(dir, name));
    await writeFile(files.at(-1)!, data);
  }
  await run(PYTHON, [path.join(REPO, 'test/helpers/pilReference.py'), '224', ...files]);
  return Promise.all(
    files.map(async (f) => {
      const ref = await readFile(`${f}.ref.f32`);
      return { name: path.basename(f), data: await readFile(f), reference: new Float32Array(ref.buffer, ref.byteOffset, ref.byteLength / 4) };
    }),
  );
}

/** The decode as it was at `commit`, loaded from a tree extracted beside the run. */
async function baselineDecode(commit: string, root: string): Promise<Decode> {
  const tree = path.join(root, 'baseline');
  await extractCommit(commit, tree, 'src');
  // Built, not committed: the WebAssembly resampler, the same at both commits.
  await cp(path.join(REPO, 'src/models/generated'), path.join(tree, 'src/models/generated'), { recursive: true });
  return ((await import(path.join(tree, 'src/images/decode.ts'))) as { decodeImage: Decode }).decodeImage;
}

function meanAbsDifference(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

export async function benchDecode(root: string, rounds: number, baselineCommit = BASELINE_COMMIT) {
  const [threads, cache] = [sharp.concurrency(), sharp.cache()];
  sharp.concurrency(1);
  sharp.cache(false);
  try {
    return await measure(root, rounds, baselineCommit);
  } finally {
    sharp.concurrency(threads);
    sharp.cache({ memory: cache.memory.max, files: cache.files.max, items: cache.items.max });
  }
}

async function measure(root: string, rounds: number, baselineCommit: string) {
  const files = await photos(path.join(root, 'photos'));
  const versions: { label: string; decode: Decode }[] = [
    { label: 'now', decode: decodeImage },
    { label: baselineCommit, decode: await baselineDecode(baselineCommit, root) },
  ];
  const modes: { label: string; limits: DecodeLimits }[] = [
    { label: 'OCR on (the default: its 1280 px input too)', limits: { ...DEFAULT_DECODE_LIMITS, similarity: true, ocrSide: OCR_SIDE } },
    { label: 'OCR off', limits: { ...DEFAULT_DECODE_LIMITS, similarity: true } },
  ];
  const cpu = modes.map(() => versions.map((): number[] => []));
  for (const f of files) for (const m of modes) for (const v of versions) await v.decode(f.data, CHINESE_CLIP_PREP, m.limits); // warm-up
  for (let r = 0; r < rounds; r++)
    for (const f of files)
      for (const [mi, m] of modes.entries()) {
        // Alternate which version goes first, so neither always follows the other's caches.
        const order = r % 2 ? [...versions.keys()].reverse() : [...versions.keys()];
        for (const vi of order) cpu[mi]![vi]!.push((await timedCpu(() => versions[vi]!.decode(f.data, CHINESE_CLIP_PREP, m.limits))).cpuMs);
      }
  // The least any decode of the file can cost: libjpeg at 1/8 scale (sharp loads at 1/8 when asked for 1/9 or less), nearest-neighbour after it.
  const floor: number[] = [];
  for (let r = 0; r < rounds; r++)
    for (const f of files)
      floor.push(
        (
          await timedCpu(() =>
            sharp(f.data)
              .resize(Math.floor(WIDTH / 9), Math.floor(HEIGHT / 9), { fit: 'fill', kernel: 'nearest' })
              .raw()
              .toBuffer(),
          )
        ).cpuMs,
      );
  const parity = [];
  for (const f of files) {
    const differences = [];
    for (const v of versions)
      for (const m of modes) differences.push(round(meanAbsDifference((await v.decode(f.data, CHINESE_CLIP_PREP, m.limits)).tensor.data, f.reference), 4));
    parity.push({ photo: f.name, megabytes: round(f.data.length / 1e6), meanAbsDifference: differences });
  }
  const hashMs = summarize(
    files.map((f) => {
      const start = performance.now();
      createHash('sha256').update(f.data).digest('hex');
      return performance.now() - start;
    }),
  );
  return {
    photos: files.length,
    rounds,
    versions: versions.map((v) => v.label),
    modes: modes.map((m, mi) => ({ mode: m.label, cpuMs: versions.map((_, vi) => summarize(cpu[mi]![vi]!)) })),
    floorCpuMs: summarize(floor),
    /** Per photo: each version's tensor with OCR on, then off (the order of `versions` and `modes`). */
    parity,
    sha256Ms: hashMs,
  };
}

export type DecodeBench = Awaited<ReturnType<typeof measure>>;

export function decodeMarkdown(r: DecodeBench): string {
  const [now, before] = r.versions;
  return [
    `**Decode of a new 12 MP photo** (4000×3000 JPEG: ${r.photos} photos of every kind the fixtures make, ${r.rounds} rounds, this tree and ${before} interleaved in one run; one libvips thread): CPU ms per photo, p50 / p95, for the tensor, the 512 px preview, the thumbnail, the near-duplicate hash and sharpness, and OCR's input where OCR is on. Goal: ≤ ${DECODE_GOAL_MS} ms.`,
    '',
    `| | ${now} | ${before} |`,
    '|---|---|---|',
    ...r.modes.map((m) => `| ${m.mode} | ${m.cpuMs[0]!.p50} / ${m.cpuMs[0]!.p95} | ${m.cpuMs[1]!.p50} / ${m.cpuMs[1]!.p95} |`),
    '',
    `The least any decode of these files can cost, libjpeg reading the whole file but decoding at 1/8 scale: ${r.floorCpuMs.p50} / ${r.floorCpuMs.p95} ms.`,
    '',
    `The tensor against Chinese-CLIP's Pillow transform from the full image, mean |d| (normalised units):`,
    '',
    `| photo | MB | ${now}, OCR on | ${now}, OCR off | ${before}, OCR on | ${before}, OCR off |`,
    '|---|---|---|---|---|---|',
    ...r.parity.map((p) => `| ${p.photo} | ${p.megabytes} | ${p.meanAbsDifference.join(' | ')} |`),
    '',
    `The file's SHA-256 (ingest's identity of the bytes, on the main thread): ${r.sha256Ms.p50} ms p50.`,
    '',
  ].join('\n');
}

if (require.main === module)
  void (async () => {
    const started = new Date().toISOString();
    const root = await mkdtemp(path.join(os.tmpdir(), 'imagesearch-decode-'));
    const r = await benchDecode(root, envNumber('BENCH_DECODE_ROUNDS', 5)).finally(() => rm(root, { recursive: true, force: true }));
    await writeBenchResults('decode', 'Decode benchmark', 'npm run bench:decode', started, r, decodeMarkdown(r));
    console.log(decodeMarkdown(r));
  })().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
