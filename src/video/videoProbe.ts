import type { GeoPoint } from '../util/geo';
import { FfmpegFailed, runFfmpeg, type RunLimits } from './ffmpegRun';

/** What the container says about a video, read by ffmpeg. */
export interface VideoInfo {
  durationMs: number | null;
  codec: string;
  /** As shown: after the rotation the container asks for. */
  width: number;
  height: number;
  rotation: number;
  takenAt: Date | undefined;
  location: GeoPoint | undefined;
  camera: string | undefined;
  /** Apple's content identifier, which a Live Photo's still carries too. */
  contentId: string | undefined;
}

function tag(report: string, key: string): string | undefined {
  const m = new RegExp(`^\\s*${key.replace(/\./g, '\\.')}\\s*:\\s*(.+)$`, 'm').exec(report);
  return m?.[1]?.trim();
}

function date(v: string | undefined): Date | undefined {
  if (!v) return undefined;
  const d = new Date(v);
  // 1970 and 1904 are what cameras without a clock (and QuickTime's epoch) write.
  return Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1980 ? undefined : d;
}

/** ISO 6709, as iPhones and Android write it: "+39.9042+116.4074+044.000/". */
function iso6709(v: string | undefined): GeoPoint | undefined {
  const m = v ? /^([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)/.exec(v) : null;
  if (!m) return undefined;
  const lat = Number(m[1]);
  const lon = Number(m[2]);
  return Math.abs(lat) <= 90 && Math.abs(lon) <= 180 && (lat !== 0 || lon !== 0) ? { lat, lon } : undefined;
}

/** Parses ffmpeg's report on its input (the system's 5.x and npm's 2018 build word it alike where it matters). */
export function parseProbe(report: string): VideoInfo {
  const stream = /Stream #\d+:\d+.*?: Video: ([A-Za-z0-9_]+)[^\n]*?, (\d{1,5})x(\d{1,5})/.exec(report);
  if (!stream) throw new FfmpegFailed('the file has no video stream');
  const d = /Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)/.exec(report);
  const durationMs = d ? Math.round((Number(d[1]) * 3600 + Number(d[2]) * 60 + Number(d[3])) * 1000) : null;
  const rot = /displaymatrix: rotation of (-?[\d.]+) degrees/.exec(report)?.[1] ?? tag(report, 'rotate');
  const rotation = rot ? ((Math.round(Number(rot)) % 360) + 360) % 360 : 0;
  const [w, h] = [Number(stream[2]), Number(stream[3])];
  const make = tag(report, 'com.apple.quicktime.make') ?? tag(report, 'com.android.manufacturer');
  const model = tag(report, 'com.apple.quicktime.model') ?? tag(report, 'com.android.model');
  return {
    durationMs,
    codec: stream[1]!,
    width: rotation % 180 === 90 ? h : w,
    height: rotation % 180 === 90 ? w : h,
    rotation,
    takenAt: date(tag(report, 'com.apple.quicktime.creationdate')) ?? date(tag(report, 'creation_time')),
    location: iso6709(tag(report, 'com.apple.quicktime.location.ISO6709') ?? tag(report, 'location')),
    camera: model ? (make && !model.toLowerCase().startsWith(make.toLowerCase()) ? `${make} ${model}` : model) : make,
    contentId: tag(report, 'com.apple.quicktime.content.identifier'),
  };
}

/** ffmpeg with an input and no output reports the input and exits 1: that is the probe. */
export async function probeVideo(bin: string, file: string, limits: RunLimits): Promise<VideoInfo> {
  const report = await runFfmpeg(bin, ['-hide_banner', '-nostdin', '-i', file], limits, [0, 1]);
  if (!report.includes('Input #0')) throw new FfmpegFailed(`not a readable video: ${report.trim().split('\n').slice(-1)[0] ?? ''}`);
  return parseProbe(report);
}
