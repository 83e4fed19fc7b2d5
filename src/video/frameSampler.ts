import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { FfmpegFailed, runFfmpeg, type RunLimits } from './ffmpegRun';
import type { VideoInfo } from './videoProbe';

export interface SamplingSettings {
  /** Never two frames closer than this, however busy the scene. */
  minSpacingMs: number;
  /** Never a gap longer than this without a frame, however still the scene (raised when maxFrames needs it). */
  maxSpacingMs: number;
  maxFrames: number;
  /** ffmpeg's scene-change score (0-1) above which a frame starts a new shot. */
  sceneThreshold: number;
  /** Longest side of the frames handed to the encoder (and stored as their previews). */
  frameSide: number;
}

/** A sampled frame and the stretch of the video it stands for. */
export interface VideoSegment {
  startMs: number;
  endMs: number;
  jpeg: Buffer;
}

/** The spacing that keeps a video within maxFrames: a long video gets sparser frames, never a cut-off tail. */
export function effectiveMaxSpacingMs(durationMs: number | null, s: Pick<SamplingSettings, 'maxSpacingMs' | 'maxFrames'>): number {
  if (!durationMs || s.maxFrames <= 1) return s.maxSpacingMs;
  return Math.max(s.maxSpacingMs, Math.ceil(durationMs / (s.maxFrames - 1)));
}

/** Segment bounds from frame times: each frame stands for the time until the next one. */
export function segmentBounds(framesMs: readonly number[], durationMs: number | null, maxSpacingMs: number): { startMs: number; endMs: number }[] {
  return framesMs.map((t, i) => {
    const next = framesMs[i + 1];
    const end = next ?? (durationMs !== null && durationMs > t ? durationMs : t + maxSpacingMs);
    return { startMs: t, endMs: end };
  });
}

/**
 * Frames at every scene change, at least `minSpacingMs` apart, and one at least every `maxSpacingMs`
 * in between, through one ffmpeg run: select picks them (the first frame always), scale shrinks them
 * to `frameSide`, showinfo reports each one's time. ffmpeg applies the container's rotation itself.
 */
export async function sampleVideo(
  bin: string,
  file: string,
  info: VideoInfo,
  s: SamplingSettings,
  limits: RunLimits,
  workRoot: string,
): Promise<VideoSegment[]> {
  const maxSpacingMs = effectiveMaxSpacingMs(info.durationMs, s);
  const [min, max] = [Math.min(s.minSpacingMs, maxSpacingMs) / 1000, maxSpacingMs / 1000];
  const select = `select='eq(n,0)+gte(t-prev_selected_t,${max})+gt(scene,${s.sceneThreshold})*gte(t-prev_selected_t,${min})'`;
  const scale = `scale='min(iw,${s.frameSide})':'min(ih,${s.frameSide})':force_original_aspect_ratio=decrease`;
  const dir = await mkdtemp(path.join(workRoot, 'frames-'));
  try {
    const report = await runFfmpeg(
      bin,
      ['-hide_banner', '-nostdin', '-loglevel', 'info', '-i', file, '-map', '0:v:0', '-an', '-sn', '-dn']
        .concat(['-vf', `${select},${scale},showinfo`, '-vsync', 'vfr', '-frames:v', String(s.maxFrames), '-q:v', '3'])
        .concat(['-f', 'image2', path.join(dir, 'f-%05d.jpg')]),
      limits,
    );
    const times = [...report.matchAll(/Parsed_showinfo[^\n]*?pts_time:\s*(-?[\d.]+)/g)].map((m) => Math.max(0, Math.round(Number(m[1]) * 1000)));
    const files = (await readdir(dir)).filter((f) => f.endsWith('.jpg')).sort();
    if (files.length === 0) throw new FfmpegFailed('no frame could be decoded from the video');
    if (times.length < files.length) throw new FfmpegFailed(`ffmpeg reported ${times.length} frame times for ${files.length} frames`);
    const bounds = segmentBounds(times.slice(0, files.length), info.durationMs, maxSpacingMs);
    return await Promise.all(files.map(async (f, i) => ({ ...bounds[i]!, jpeg: await readFile(path.join(dir, f)) })));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
