import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { decodeImage } from '../src/images/decode';
import { mapConcurrent } from '../src/util/async';
import type { Services } from '../src/app/services';
import { decodeTensors, writePhotoLikeJpegs } from './fixtures';
import type { BenchPack, Harness } from './harness';
import { round, summarize, timed } from './stats';

/** Raw encoder images/s on pre-decoded tensors: the ceiling ingest is measured against. */
async function encoderThroughput(s: Services, files: string[]): Promise<number> {
  const tensors = await decodeTensors(files, s.pack.image.preprocessing);
  await s.pack.image.encode(tensors.slice(0, s.config.ENCODE_BATCH_SIZE)); // warm-up
  const { ms } = await timed(() => s.pack.image.encode(tensors));
  return files.length / (ms / 1000);
}

export interface IngestBench {
  model: string;
  images: number;
  imageSize: string;
  sweep: { batchSize: number; intraOpThreads: number; encoderImagesPerSec: number }[];
  best: { batchSize: number; intraOpThreads: number };
  endToEndImagesPerSec: number;
  encoderImagesPerSec: number;
  /** Read + decode + resize + derivatives alone, with the pipeline's concurrency. */
  decodeImagesPerSec: number;
  /** End-to-end over raw encoder, same pack, batch size and threads, same run. */
  ratio: number;
  /**
   * The best ratio the cores allow when decoding and encoding both saturate them:
   * decode/(encode+decode) in images/s. Overlap can hide decoding only on spare cores.
   */
  cpuBoundCeiling: number;
  decode12MP: { withShrinkOnLoadMs: ReturnType<typeof summarize>; withoutShrinkOnLoadMs: ReturnType<typeof summarize> };
}

export async function benchIngest(
  h: Harness,
  pack: BenchPack,
  opts: { images: number; width: number; height: number; batchSizes: number[]; threads: number[] },
): Promise<IngestBench> {
  const dir = path.join(h.root, 'ingest-photos');
  const files = existsSync(dir)
    ? (await readdir(dir)).map((f) => path.join(dir, f)).sort()
    : await writePhotoLikeJpegs(dir, opts.images, opts.width, opts.height);

  const sweep: IngestBench['sweep'] = [];
  for (const batchSize of opts.batchSizes) {
    for (const threads of opts.threads) {
      const s = await h.start(pack, { ENCODE_BATCH_SIZE: String(batchSize), ORT_INTRA_OP_THREADS: String(threads) });
      try {
        sweep.push({
          batchSize,
          intraOpThreads: threads,
          encoderImagesPerSec: round(await encoderThroughput(s, files.slice(0, Math.min(files.length, 32))), 1),
        });
      } finally {
        await s.close();
      }
    }
  }
  const best = sweep.reduce((a, b) => (b.encoderImagesPerSec > a.encoderImagesPerSec ? b : a));

  const s = await h.start(pack, { ENCODE_BATCH_SIZE: String(best.batchSize), ORT_INTRA_OP_THREADS: String(best.intraOpThreads) });
  let endToEnd: number;
  let encoder: number;
  let decode: number;
  try {
    encoder = await encoderThroughput(s, files);
    const lookahead = s.config.DECODE_CONCURRENCY + s.config.ENCODE_BATCH_SIZE;
    decode =
      files.length /
      ((
        await timed(async () => {
          for await (const _ of mapConcurrent(files, lookahead, async (f) => decodeImage(await readFile(f), s.pack.image.preprocessing))) void _;
        })
      ).ms /
        1000);
    const job = await s.ingest.createFolderJob('bench', dir);
    const { ms } = await timed(() => s.ingest.runJob(job));
    endToEnd = files.length / (ms / 1000);
  } finally {
    await s.close();
  }

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

  return {
    model: pack.label,
    images: files.length,
    imageSize: `${opts.width}x${opts.height} JPEG`,
    sweep,
    best: { batchSize: best.batchSize, intraOpThreads: best.intraOpThreads },
    endToEndImagesPerSec: round(endToEnd, 1),
    encoderImagesPerSec: round(encoder, 1),
    decodeImagesPerSec: round(decode, 1),
    ratio: round(endToEnd / encoder, 3),
    cpuBoundCeiling: round(decode / (encoder + decode), 3),
    decode12MP,
  };
}
