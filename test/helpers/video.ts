import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { colour } from './images';
import { tempDir } from './env';

export interface VideoSpec {
  /** Test-pack colours in order, each shown for `seconds`. */
  spans: { colour: string; seconds: number }[];
  codec?: 'libx264' | 'libx265' | 'libvpx';
  container?: 'mp4' | 'mov' | 'webm' | 'mkv';
  size?: string;
  /** Container metadata, e.g. creation_time, or Apple's com.apple.quicktime.* keys. */
  metadata?: Record<string, string>;
}

const hex = (key: string) =>
  `0x${colour(key)
    .rgb.map((v) => v.toString(16).padStart(2, '0'))
    .join('')}`;

/** A real video made by the system's ffmpeg from lavfi colour sources, one colour after another. */
export async function colourVideo(spec: VideoSpec): Promise<Buffer> {
  const { spans, codec = 'libx264', container = 'mp4', size = '160x120' } = spec;
  const out = path.join(await tempDir('video'), `v.${container}`);
  const inputs = spans.flatMap((s) => ['-f', 'lavfi', '-i', `color=c=${hex(s.colour)}:s=${size}:d=${s.seconds}:r=10`]);
  const concat = `${spans.map((_, i) => `[${i}:v]`).join('')}concat=n=${spans.length}:v=1[v]`;
  const meta = Object.entries(spec.metadata ?? {}).flatMap(([k, v]) => ['-metadata', `${k}=${v}`]);
  const codecArgs =
    codec === 'libvpx'
      ? ['-c:v', 'libvpx', '-b:v', '200k']
      : ['-c:v', codec, '-pix_fmt', 'yuv420p', ...(codec === 'libx265' ? ['-tag:v', 'hvc1', '-x265-params', 'log-level=error'] : [])];
  await promisify(execFile)('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    ...inputs,
    '-filter_complex',
    concat,
    '-map',
    '[v]',
    ...codecArgs,
    ...meta,
    ...(container === 'mov' ? ['-movflags', 'use_metadata_tags'] : []),
    out,
  ]);
  return readFile(out);
}
