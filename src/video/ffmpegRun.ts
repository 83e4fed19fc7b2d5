import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setPriority } from 'node:os';

export interface RunLimits {
  timeoutMs: number;
  /** Address space of the ffmpeg process (prlimit --as), bytes. */
  maxMemoryBytes: number;
  /** Nice value of the process; null leaves it. */
  nice: number | null;
}

export class FfmpegFailed extends Error {}

const STDERR_KEEP = 256 * 1024;
const PRLIMIT = ['/usr/bin/prlimit', '/bin/prlimit'].find((p) => existsSync(p));

/**
 * Runs ffmpeg without a shell: arguments go to execve as they are, so no file name can become a command.
 * Limits: wall time (SIGKILL), address space through util-linux's prlimit where present, stderr kept to
 * its last 256 KiB; whatever it writes goes to a folder the caller sized and cleans up.
 * Resolves with stderr (ffmpeg's report); rejects with its last lines when it fails.
 */
export function runFfmpeg(bin: string, args: readonly string[], limits: RunLimits, okCodes: readonly number[] = [0]): Promise<string> {
  const [cmd, argv] = PRLIMIT ? [PRLIMIT, [`--as=${limits.maxMemoryBytes}`, '--', bin, ...args]] : [bin, [...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'], shell: false });
    if (limits.nice !== null && child.pid) {
      try {
        setPriority(child.pid, limits.nice);
      } catch {
        // Lowering priority is a courtesy to queries, not a requirement.
      }
    }
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      if (stderr.length > STDERR_KEEP * 2) stderr = stderr.slice(-STDERR_KEEP);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, limits.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new FfmpegFailed(`ffmpeg could not start: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) return reject(new FfmpegFailed(`ffmpeg took longer than ${limits.timeoutMs} ms`));
      if (code !== null && okCodes.includes(code)) return resolve(stderr);
      const last = stderr.trim().split('\n').slice(-3).join(' | ');
      reject(new FfmpegFailed(`ffmpeg failed (${signal ?? `exit ${code}`}): ${last}`));
    });
  });
}
