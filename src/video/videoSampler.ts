import { mkdir, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { ImageRejected } from '../images/decode';
import { Semaphore } from '../util/async';
import type { FfmpegBinary } from './ffmpegBinary';
import { FfmpegFailed, type RunLimits } from './ffmpegRun';
import { sampleVideo, type SamplingSettings, type VideoSegment } from './frameSampler';
import { probeVideo, type VideoInfo } from './videoProbe';

export interface VideoSettings {
  sampling: SamplingSettings;
  limits: RunLimits;
  maxDurationMs: number;
  /** Videos sampled at once: each ffmpeg run takes its cores and memory. */
  concurrency: number;
  /** Scratch space for videos that exist only in memory (URL downloads) and for frames. */
  workDir: string;
}

export interface SampledVideo {
  mime: string;
  info: VideoInfo;
  segments: VideoSegment[];
}

/**
 * A video's facts and frames, through ffmpeg with limits. Every failure ends as an ImageRejected with
 * ffmpeg's reason, so the item fails alone and nothing of it is stored.
 */
export class VideoSampler {
  private readonly slots: Semaphore;

  constructor(
    readonly ffmpeg: FfmpegBinary,
    private readonly settings: VideoSettings,
  ) {
    this.slots = new Semaphore(settings.concurrency);
  }

  /** `file` is where the bytes already are on disk, when they are; otherwise they are written to scratch space first. */
  sample(data: Buffer, mime: string, file: string | null): Promise<SampledVideo> {
    return this.slots.run(async () => {
      const { workDir, limits } = this.settings;
      let scratch: string | null = null;
      try {
        await mkdir(workDir, { recursive: true });
        if (!file) {
          scratch = path.join(workDir, `video-${randomBytes(6).toString('hex')}`);
          await writeFile(scratch, data);
        }
        const input = file ?? scratch!;
        const info = await probeVideo(this.ffmpeg.path, input, limits);
        if (info.durationMs !== null && info.durationMs > this.settings.maxDurationMs) {
          throw new ImageRejected(
            'too_large',
            `video is ${Math.round(info.durationMs / 1000)} s long; the limit is ${Math.round(this.settings.maxDurationMs / 1000)} s`,
          );
        }
        const segments = await sampleVideo(this.ffmpeg.path, input, info, this.settings.sampling, limits, workDir);
        return { mime, info, segments };
      } catch (e) {
        if (e instanceof FfmpegFailed) throw new ImageRejected('corrupt', `the video could not be read: ${e.message}`);
        throw e;
      } finally {
        if (scratch) await rm(scratch, { force: true });
      }
    });
  }
}
