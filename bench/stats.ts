import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** The middle value (the upper of the two middle ones for an even count). */
export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export function summarize(ms: readonly number[]) {
  const s = [...ms].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
  return {
    n: s.length,
    mean: round(mean),
    p50: round(percentile(s, 50)),
    p95: round(percentile(s, 95)),
    p99: round(percentile(s, 99)),
    max: round(s[s.length - 1] ?? NaN),
  };
}

export const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - start };
}

/** `timed`, plus the CPU this process spent meanwhile on all its threads (worker threads and sharp's included). */
export async function timedCpu<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  const { value, ms } = await timed(fn);
  const used = process.cpuUsage(cpu);
  return { value, ms, cpuMs: (used.user + used.system) / 1000 };
}

/** What a figure was measured on. */
export function machineInfo() {
  return { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version };
}

/** A standalone bench's results as bench/<name>-results.json and .md (headed with when and where), printed too. */
export async function writeBenchResults(name: string, title: string, command: string, started: string, results: object, markdown: string): Promise<void> {
  const machine = machineInfo();
  await writeFile(
    path.resolve(__dirname, `${name}-results.json`),
    `${JSON.stringify({ started, finished: new Date().toISOString(), machine, ...results }, null, 2)}\n`,
  );
  await writeFile(
    path.resolve(__dirname, `${name}-results.md`),
    `# ${title}\n\n${started}, ${machine.cpus} × ${machine.cpu}, ${machine.memGiB} GiB, Node ${machine.node}. Regenerate: \`${command}\`.\n\n${markdown}`,
  );
  console.log(markdown);
}
