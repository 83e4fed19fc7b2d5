import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import type { Services } from '../src/cli/services';
import { hammingDistance, phashFromStored } from '../src/images/similarity';
import { writeSceneJpegs } from './fixtures';
import type { BenchPack, Harness } from './harness';
import { round, timed } from './stats';

export interface VideoBench {
  model: string;
  videos: { name: string; seconds: number; codec: string; size: string }[];
  /** Seconds of video ingested per second of wall time, end to end. */
  videoSecondsPerSecond: number;
  framesPerMinuteOfVideo: number;
  framesPerSecondOfWall: number;
}

interface PairScore {
  precision: number;
  recall: number;
}

export interface DuplicatesBench {
  model: string;
  bases: number;
  variantsPerBase: number;
  distinct: number;
  /** Groups the service built at ingest, with its defaults. */
  service: PairScore & { threshold: number; phashBits: number; groups: number };
  /** The same with vectors left out (DUPLICATE_THRESHOLD=1): what the hash alone groups. */
  serviceHashOnly: PairScore & { threshold: number; phashBits: number; groups: number };
  /** Which variants ended up with their base, through the service with its defaults. */
  variantRecall: Record<string, number>;
  /** Offline over the same images: each rule alone, at several settings. */
  vectorSweep: (PairScore & { threshold: number })[];
  phashSweep: (PairScore & { bits: number })[];
  /** Share of pairs of different pictures whose cosine reaches the service's threshold: each such pair is a false link. Absent from older runs. */
  distinctPairsLinkedByCosine?: number;
}

const run = promisify(execFile);

/** Phone-like clips (about 16 Mbit/s): a moving test pattern cut to a busy scene, H.264 and HEVC, 1280x720 at 30 fps. */
async function writeVideos(dir: string): Promise<VideoBench['videos']> {
  await mkdir(dir, { recursive: true });
  const specs = [
    { name: 'walk.mp4', codec: 'libx264', seconds: 20 },
    { name: 'iphone.mov', codec: 'libx265', seconds: 20 },
    { name: 'party.mp4', codec: 'libx264', seconds: 20 },
  ];
  for (const [i, s] of specs.entries()) {
    const half = s.seconds / 2;
    await run('ffmpeg', [
      ...['-hide_banner', '-loglevel', 'error', '-y'],
      ...['-f', 'lavfi', '-i', `testsrc2=s=1280x720:r=30:d=${half}`],
      ...['-f', 'lavfi', '-i', `life=s=1280x720:r=30:ratio=0.${2 + i}:mold=10:death_color=#${['203040', '402010', '104020'][i]}`],
      ...['-filter_complex', `[1:v]trim=duration=${half}[l];[0:v][l]concat=n=2:v=1[v]`, '-map', '[v]', '-t', String(s.seconds)],
      ...['-c:v', s.codec, '-pix_fmt', 'yuv420p', '-preset', 'veryfast'],
      ...(s.codec === 'libx265' ? ['-tag:v', 'hvc1', '-x265-params', 'log-level=error'] : []),
      path.join(dir, s.name),
    ]);
  }
  return specs.map((s) => ({ name: s.name, seconds: s.seconds, codec: s.codec === 'libx265' ? 'hevc' : 'h264', size: '1280x720 30 fps' }));
}

export async function benchVideo(h: Harness, pack: BenchPack): Promise<VideoBench> {
  const dir = path.join(h.root, 'videos');
  const videos = await writeVideos(dir);
  const s = await h.start(pack, { OCR: 'off', DUPLICATES: 'off' });
  try {
    const job = await s.ingest.createFolderJob('bench-video', dir);
    const { ms } = await timed(() => s.ingest.runJob(job));
    // This owner's videos only: the harness's database holds every other benchmark's images too.
    const frames = (await s.repos.images.listPage({ owner: 'bench-video' }, 'ingestedAt', null, 1000)).reduce((n, r) => n + r.segmentCount + 1, 0);
    const seconds = videos.reduce((n, v) => n + v.seconds, 0);
    return {
      model: pack.label,
      videos,
      videoSecondsPerSecond: round(seconds / (ms / 1000), 2),
      framesPerMinuteOfVideo: round((frames / seconds) * 60, 1),
      framesPerSecondOfWall: round(frames / (ms / 1000), 2),
    };
  } finally {
    await s.close();
  }
}

/** Copies a photo app's library is full of, each made from a base photo. */
const VARIANTS: Record<string, (jpeg: Buffer) => Promise<Buffer>> = {
  resized: (j) => sharp(j).resize(512).jpeg({ quality: 85 }).toBuffer(),
  recompressed: (j) => sharp(j).jpeg({ quality: 45 }).toBuffer(),
  cropped: async (j) => {
    const { width = 0, height = 0 } = await sharp(j).metadata();
    const [dx, dy] = [Math.round(width * 0.05), Math.round(height * 0.05)];
    return sharp(j)
      .extract({ left: dx, top: dy, width: width - 2 * dx, height: height - 2 * dy })
      .jpeg({ quality: 90 })
      .toBuffer();
  },
  // Pixels stored turned, EXIF saying how to show them upright.
  exifRotated: async (j) =>
    sharp(await sharp(j).rotate(90).toBuffer())
      .withMetadata({ orientation: 8 })
      .jpeg({ quality: 90 })
      .toBuffer(),
  brighter: (j) => sharp(j).modulate({ brightness: 1.15 }).jpeg({ quality: 90 }).toBuffer(),
};

/** Every unordered pair of files, once. */
function* pairsOf(files: readonly string[]): Generator<[string, string]> {
  for (let i = 0; i < files.length; i++) for (let j = i + 1; j < files.length; j++) yield [files[i]!, files[j]!];
}

/** Both files are copies of one base photo (distinct photos have no entry in the truth). */
const samePicture = (truth: Map<string, string>, a: string, b: string): boolean => truth.get(a) !== undefined && truth.get(a) === truth.get(b);

/** Pairwise precision and recall of a grouping against the truth (file -> base), over every pair of files. */
function pairScore(files: readonly string[], truth: Map<string, string>, sameGroup: (a: string, b: string) => boolean): PairScore {
  let tp = 0;
  let predicted = 0;
  let actual = 0;
  for (const [a, b] of pairsOf(files)) {
    const t = samePicture(truth, a, b);
    const p = sameGroup(a, b);
    if (t) actual++;
    if (p) predicted++;
    if (t && p) tp++;
  }
  return { precision: round(predicted ? tp / predicted : 1, 3), recall: round(actual ? tp / actual : 1, 3) };
}

/** Connected components of the pairs `linked` says are one picture. */
function components(files: readonly string[], linked: (a: string, b: string) => boolean): (a: string, b: string) => boolean {
  const parent = new Map(files.map((f) => [f, f]));
  const find = (f: string): string => (parent.get(f) === f ? f : find(parent.get(f)!));
  for (const [a, b] of pairsOf(files)) if (linked(a, b)) parent.set(find(a), find(b));
  return (a, b) => find(a) === find(b);
}

export async function benchDuplicates(h: Harness, pack: BenchPack, opts: { bases: number; distinct: number }): Promise<DuplicatesBench> {
  const dir = path.join(h.root, 'duplicates');
  const bases = await writeSceneJpegs(path.join(dir, 'base'), opts.bases, 1600, 1200, 31);
  const truth = new Map<string, string>();
  for (const b of bases) {
    truth.set(path.basename(b), b);
    const data = await readFile(b);
    for (const [name, make] of Object.entries(VARIANTS)) {
      const file = `${path.basename(b, '.jpg')}-${name}.jpg`;
      await writeFile(path.join(dir, 'base', file), await make(data));
      truth.set(file, b);
    }
  }
  await writeSceneJpegs(path.join(dir, 'base'), opts.distinct, 1600, 1200, 97);
  const folder = path.join(dir, 'base');
  /** Ingests the set under a fresh owner and reads back the service's groups, every page. */
  const grouped = async (s: Services, owner: string) => {
    await s.ingest.runJob(await s.ingest.createFolderJob(owner, folder));
    // Grouping is a background stage: a service not started (this bench) does it here.
    await s.stages.idle();
    const rows = await s.repos.images.listPage({ owner }, 'ingestedAt', null, 10_000);
    const name = new Map(rows.map((r) => [r.id, path.basename(r.source)]));
    const groupOf = new Map<string, string>();
    for (let offset = 0; ; offset += 100) {
      const page = await s.duplicates.list(owner, { offset, limit: 100 }, true);
      for (const g of page.groups) for (const m of g.members) groupOf.set(name.get(m.image.id)!, g.id);
      if (page.nextOffset === null) break;
    }
    return { rows, name, groupOf, files: rows.map((r) => path.basename(r.source)) };
  };
  const score = (r: Awaited<ReturnType<typeof grouped>>, s: Services) => ({
    ...pairScore(r.files, truth, (a, b) => r.groupOf.get(a) !== undefined && r.groupOf.get(a) === r.groupOf.get(b)),
    threshold: s.config.DUPLICATE_THRESHOLD,
    phashBits: s.config.DUPLICATE_PHASH_BITS,
    groups: new Set(r.groupOf.values()).size,
  });
  // Hash only: a cosine threshold of 1 links no two different pictures.
  const hashOnly = await h.start(pack, { OCR: 'off', DUPLICATE_THRESHOLD: '1' });
  let hashOnlyScore: DuplicatesBench['serviceHashOnly'];
  try {
    hashOnlyScore = score(await grouped(hashOnly, 'bench-dups-hash'), hashOnly);
  } finally {
    await hashOnly.close();
  }
  const s: Services = await h.start(pack, { OCR: 'off' });
  try {
    const r = await grouped(s, 'bench-dups');
    const { rows, name, groupOf, files } = r;
    const variantRecall = Object.fromEntries(
      Object.keys(VARIANTS).map((v) => {
        const copies = files.filter((f) => f.endsWith(`-${v}.jpg`));
        const together = copies.filter((f) => {
          const base = path.basename(truth.get(f)!);
          return groupOf.get(f) !== undefined && groupOf.get(f) === groupOf.get(base);
        });
        return [v, round(together.length / copies.length, 3)];
      }),
    );
    // Offline: every pair's cosine and hash distance, each rule alone.
    const points = await s.images.retrieve(rows.map((x) => x.id));
    const vec = new Map(points.map((p) => [name.get(p.id)!, p.vector]));
    const cos = (a: string, b: string) => vec.get(a)!.reduce((sum, x, i) => sum + x * vec.get(b)![i]!, 0);
    const hash = new Map(rows.map((x) => [path.basename(x.source), x.phash === null ? null : phashFromStored(x.phash)]));
    const bits = (a: string, b: string) => (hash.get(a) && hash.get(b) ? hammingDistance(hash.get(a)!, hash.get(b)!) : 64);
    let distinctPairs = 0;
    let linked = 0;
    for (const [a, b] of pairsOf(files)) {
      if (samePicture(truth, a, b)) continue;
      distinctPairs++;
      if (cos(a, b) >= s.config.DUPLICATE_THRESHOLD) linked++;
    }
    return {
      model: pack.label,
      distinctPairsLinkedByCosine: round(linked / distinctPairs, 3),
      bases: opts.bases,
      variantsPerBase: Object.keys(VARIANTS).length,
      distinct: opts.distinct,
      service: score(r, s),
      serviceHashOnly: hashOnlyScore,
      variantRecall,
      vectorSweep: [0.9, 0.95, 0.98, 0.99, 0.995].map((threshold) => ({
        threshold,
        ...pairScore(
          files,
          truth,
          components(files, (a, b) => cos(a, b) >= threshold),
        ),
      })),
      phashSweep: [4, 6, 8, 10, 12].map((n) => ({
        bits: n,
        ...pairScore(
          files,
          truth,
          components(files, (a, b) => bits(a, b) <= n),
        ),
      })),
    };
  } finally {
    await s.close();
  }
}

export function mediaMarkdown(r: { video: VideoBench; duplicates: DuplicatesBench; heic?: { jpegMs: number; heicMs: number } }): string {
  const v = r.video;
  const d = r.duplicates;
  return [
    `**Video** (${v.model}): ${v.videos.map((x) => `${x.name} ${x.seconds} s ${x.codec}`).join(', ')}, ${v.videos[0]?.size}. ` +
      `Ingested at **${v.videoSecondsPerSecond} s of video per second**, ${v.framesPerMinuteOfVideo} frames per minute of video (${v.framesPerSecondOfWall} frames embedded per second).`,
    '',
    `**Near-duplicates** (${d.model}): ${d.bases} base photos with ${d.variantsPerBase} copies each (${Object.keys(d.variantRecall).join(', ')}) among ${d.distinct} distinct photos; pairwise precision / recall over every pair.`,
    '',
    `Service, as ingest grouped them (DUPLICATE_THRESHOLD ${d.service.threshold}, DUPLICATE_PHASH_BITS ${d.service.phashBits}): precision **${d.service.precision}**, recall **${d.service.recall}**, ${d.service.groups} groups. ` +
      `Hash only (DUPLICATE_THRESHOLD 1): precision **${d.serviceHashOnly.precision}**, recall **${d.serviceHashOnly.recall}**, ${d.serviceHashOnly.groups} groups.`,
    '',
    // 1 % of false links is enough: a photo joins the group of anything it links to, so groups chain together.
    ...(d.distinctPairsLinkedByCosine !== undefined && d.distinctPairsLinkedByCosine > 0.01
      ? [
          `With this pack, ${round(d.distinctPairsLinkedByCosine * 100, 1)} % of pairs of different photos reach cosine ${d.service.threshold}: its vectors do not tell these pictures apart. A photo joins the group of anything it links to, so those links chain nearly every photo into a few groups, and the figures above and the copies below say nothing of the service with a trained pack; the hash-only figures are what this run measures of the grouping.`,
          '',
        ]
      : []),
    `Copies found with their base: ${Object.entries(d.variantRecall)
      .map(([k, x]) => `${k} ${x}`)
      .join(', ')}.`,
    '',
    '| rule alone | setting | precision | recall |',
    '|---|---|---|---|',
    ...d.vectorSweep.map((x) => `| cosine ≥ | ${x.threshold} | ${x.precision} | ${x.recall} |`),
    ...d.phashSweep.map((x) => `| dHash bits ≤ | ${x.bits} | ${x.precision} | ${x.recall} |`),
    '',
  ].join('\n');
}
