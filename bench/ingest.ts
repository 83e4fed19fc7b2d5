import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { decodeImage, DEFAULT_DECODE_LIMITS } from '../src/images/decode';
import { mapAsReady } from '../src/util/async';
import type { Services } from '../src/cli/services';
import { decodeTensors, heicFromJpeg, writePhotoLikeJpegs } from './fixtures';
import type { BenchPack, Harness } from './harness';
import { round, summarize, timed, timedCpu } from './stats';

/** A rate and the CPU it took. */
interface Throughput {
  imagesPerSec: number;
  /** CPU of this process per image, all threads: what one image takes of the cores, whatever ran in parallel. */
  cpuMsPerImage: number;
}

const throughput = (images: number, t: { ms: number; cpuMs: number }): Throughput => ({
  imagesPerSec: images / (t.ms / 1000),
  cpuMsPerImage: t.cpuMs / images,
});

/** Raw encoder images/s on pre-decoded tensors: the ceiling ingest is measured against. */
async function encoderThroughput(s: Services, files: string[]): Promise<Throughput> {
  const tensors = await decodeTensors(files, s.pack.image.preprocessing);
  await s.pack.image.encode(tensors.slice(0, s.config.ENCODE_BATCH_SIZE)); // warm-up
  return throughput(files.length, await timedCpu(() => s.pack.image.encode(tensors)));
}

/** One round: the raw encoder, decoding alone and an end-to-end ingest, measured back to back. */
export interface IngestRound {
  /** Same pack, batch size and threads as the ingest. */
  encoderImagesPerSec: number;
  /** Read + decode + resize + derivatives + near-duplicate measures alone (what ingest does to a new still), with the pipeline's concurrency. */
  decodeImagesPerSec: number;
  /** OCR off: the encoder's share of ingest, measured against the raw encoder. */
  endToEndImagesPerSec: number;
  /** End-to-end over raw encoder. */
  ratio: number;
  /**
   * The best ratio the cores allow when decoding and encoding both saturate them:
   * decode/(encode+decode) in images/s. Overlap can hide decoding only on spare cores.
   */
  cpuBoundCeiling: number;
  /** CPU per image of the raw encoder and of decoding alone (absent from runs before they were measured). */
  encoderCpuMsPerImage?: number;
  decodeCpuMsPerImage?: number;
}

/** The round with the median ratio, and how it was found. */
export interface IngestBench extends IngestRound {
  model: string;
  images: number;
  imageSize: string;
  sweep: { batchSize: number; intraOpThreads: number; encoderImagesPerSec: number }[];
  best: { batchSize: number; intraOpThreads: number };
  /** The default (OCR on): PP-OCR reads each new image in the background, on the same cores. */
  endToEndWithOcrImagesPerSec: number;
  /** ms of one still's decode (tensor, preview, thumbnail, hash, sharpness) of one fixture, p50, at the default scale and at oversample 4. */
  decodeMs: { default: number; oversample4: number };
  /** One decodeImage of a 12 MP photo, p50 ms, as JPEG and as HEIC. */
  decode12MPWhole: { jpegMs: number; heicMs: number };
  decode12MP: { withShrinkOnLoadMs: ReturnType<typeof summarize>; withoutShrinkOnLoadMs: ReturnType<typeof summarize> };
  /**
   * Every round, in order; the figures above are the round with the median ratio. One ratio from one
   * measurement of each moved by 0.1 between runs here, as the machine slowed during one and not the other.
   * Absent from runs before rounds were measured.
   */
  rounds?: IngestRound[];
}

export async function benchIngest(
  h: Harness,
  pack: BenchPack,
  opts: { images: number; width: number; height: number; batchSizes: number[]; threads: number[]; rounds: number },
): Promise<IngestBench> {
  const dir = path.join(h.root, 'ingest-photos');
  const files = existsSync(dir)
    ? (await readdir(dir)).map((f) => path.join(dir, f)).sort()
    : await writePhotoLikeJpegs(dir, opts.images, opts.width, opts.height);

  const sweep: IngestBench['sweep'] = [];
  for (const batchSize of opts.batchSizes) {
    for (const threads of opts.threads) {
      const s = await h.start(pack, { ENCODE_BATCH_SIZE: String(batchSize), ORT_INTRA_OP_THREADS: String(threads), OCR: 'off' });
      try {
        sweep.push({
          batchSize,
          intraOpThreads: threads,
          encoderImagesPerSec: round((await encoderThroughput(s, files.slice(0, Math.min(files.length, 32)))).imagesPerSec, 1),
        });
      } finally {
        await s.close();
      }
    }
  }
  const best = sweep.reduce((a, b) => (b.encoderImagesPerSec > a.encoderImagesPerSec ? b : a));

  const tuned = { ENCODE_BATCH_SIZE: String(best.batchSize), ORT_INTRA_OP_THREADS: String(best.intraOpThreads) };
  // One owner per run: the same photos under the same owner would be skipped as known.
  const ingestRate = async (s: Services, owner: string) => {
    const job = await s.ingest.createFolderJob(owner, dir);
    const { ms } = await timed(() => s.ingest.runJob(job));
    return files.length / (ms / 1000);
  };
  const s = await h.start(pack, { ...tuned, OCR: 'off' });
  const prep = s.pack.image.preprocessing;
  // What a new still is decoded with (OCR is off here).
  const stillLimits = { ...s.decodeLimits, similarity: true };
  const lookahead = s.config.DECODE_CONCURRENCY + s.config.ingestWriteBatch;
  const decodeRate = async () =>
    throughput(
      files.length,
      await timedCpu(async () => {
        for await (const _ of mapAsReady(files, lookahead, async (f) => decodeImage(await readFile(f), prep, stillLimits))) void _;
      }),
    );
  const rounds: IngestRound[] = [];
  try {
    for (let r = 0; r < Math.max(1, opts.rounds); r++) {
      const encoder = await encoderThroughput(s, files);
      const decode = await decodeRate();
      const endToEnd = await ingestRate(s, `bench-${r}`);
      rounds.push({
        encoderImagesPerSec: round(encoder.imagesPerSec, 1),
        decodeImagesPerSec: round(decode.imagesPerSec, 1),
        endToEndImagesPerSec: round(endToEnd, 1),
        ratio: round(endToEnd / encoder.imagesPerSec, 3),
        cpuBoundCeiling: round(decode.imagesPerSec / (encoder.imagesPerSec + decode.imagesPerSec), 3),
        encoderCpuMsPerImage: round(encoder.cpuMsPerImage, 1),
        decodeCpuMsPerImage: round(decode.cpuMsPerImage, 1),
      });
    }
  } finally {
    await s.close();
  }
  const median = [...rounds].sort((a, b) => a.ratio - b.ratio)[Math.floor(rounds.length / 2)]!;
  const withOcr = await h.start(pack, tuned);
  let endToEndWithOcr: number;
  try {
    endToEndWithOcr = await ingestRate(withOcr, 'bench-ocr');
  } finally {
    await withOcr.close();
  }

  const fixture = await readFile(files[0]!);
  const decodeAt = async (oversample: number) => {
    const limits = { ...stillLimits, tensorOversample: oversample };
    const times: number[] = [];
    for (let i = 0; i < 8; i++) times.push((await timed(() => decodeImage(fixture, prep, limits))).ms);
    return summarize(times.slice(2)).p50;
  };

  // 12 MP JPEG to the 512 px preview: one pipeline (shrink-on-load) vs a full decode, then resize.
  const [big] = await writePhotoLikeJpegs(path.join(h.root, 'big'), 1, 4000, 3000, 9);
  const data = await readFile(big!);
  sharp.cache(false);
  const viaShrinkOnLoad = () => sharp(data).rotate().resize(512, 512, { fit: 'inside' }).raw().toBuffer();
  const viaFullDecode = async () => {
    const { data: raw, info } = await sharp(data).rotate().raw().toBuffer({ resolveWithObject: true });
    return sharp(raw, { raw: { width: info.width, height: info.height, channels: info.channels } })
      .resize(512, 512, { fit: 'inside' })
      .raw()
      .toBuffer();
  };
  const decodeTimes = async (fn: () => Promise<Buffer>) => {
    const times: number[] = [];
    for (let i = 0; i < 6; i++) times.push((await timed(fn)).ms);
    return summarize(times.slice(1));
  };
  const decode12MP = { withShrinkOnLoadMs: await decodeTimes(viaShrinkOnLoad), withoutShrinkOnLoadMs: await decodeTimes(viaFullDecode) };
  // The whole decode (tensor, preview, thumbnail, hash, sharpness) of the same 12 MP photo as JPEG and as HEIC (libheif in WebAssembly, full size).
  const heic = await heicFromJpeg(big!);
  const wholeDecode = async (file: Buffer) => {
    const times: number[] = [];
    for (let i = 0; i < 4; i++) times.push((await timed(() => decodeImage(file, prep, stillLimits))).ms);
    return summarize(times.slice(1)).p50;
  };
  const decode12MPWhole = { jpegMs: await wholeDecode(data), heicMs: await wholeDecode(heic) };

  return {
    model: pack.label,
    images: files.length,
    imageSize: `${opts.width}x${opts.height} JPEG`,
    sweep,
    best: { batchSize: best.batchSize, intraOpThreads: best.intraOpThreads },
    ...median,
    endToEndWithOcrImagesPerSec: round(endToEndWithOcr, 1),
    decodeMs: { default: await decodeAt(DEFAULT_DECODE_LIMITS.tensorOversample), oversample4: await decodeAt(4) },
    decode12MP,
    decode12MPWhole,
    rounds,
  };
}
