import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export interface FfmpegBinary {
  path: string;
  /** Where it came from, for /readyz and the logs. */
  origin: 'FFMPEG_PATH' | 'system' | 'npm';
  version: string;
}

function versionOf(bin: string): string | null {
  try {
    const out = execFileSync(bin, ['-hide_banner', '-version'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
    return /ffmpeg version (\S+)/.exec(out)?.[1] ?? 'unknown';
  } catch {
    return null;
  }
}

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return null;
}

/**
 * The ffmpeg video ingest runs: FFMPEG_PATH when set, else the system's (kept patched by the OS), else
 * the static build shipped in npm by @ffmpeg-installer/linux-x64 — a 2018 build (ffmpeg 4.1) with
 * years of demuxer and decoder CVEs unfixed, acceptable for one's own phone videos, not for files from
 * strangers. Null when none runs: video ingest is then off and says why.
 */
export function findFfmpeg(configured: string | undefined): FfmpegBinary | null {
  if (configured) {
    const version = versionOf(configured);
    if (!version) throw new Error(`FFMPEG_PATH=${configured} does not run`);
    return { path: configured, origin: 'FFMPEG_PATH', version };
  }
  const system = onPath('ffmpeg');
  const systemVersion = system && versionOf(system);
  if (system && systemVersion) return { path: system, origin: 'system', version: systemVersion };
  try {
    const shipped = path.join(path.dirname(require.resolve('@ffmpeg-installer/linux-x64/package.json')), 'ffmpeg');
    const version = versionOf(shipped);
    if (version) return { path: shipped, origin: 'npm', version };
  } catch {
    // Not installed (it is optional, and linux-x64 only).
  }
  return null;
}
