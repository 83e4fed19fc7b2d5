import type { FetchProgress } from '../models/install/packSource';

export type InstallState = 'downloading' | 'installing' | 'switching' | 'ready' | 'failed';

/** What /readyz and the web page show while the real model is fetched in the background. */
export interface InstallStatus {
  state: InstallState;
  repo: string;
  /** The install's latest step, in words. */
  step: string | null;
  receivedBytes: number;
  totalBytes: number;
  bytesPerSecond: number | null;
  etaSeconds: number | null;
  /** The pack switched to, once ready. */
  pack: string | null;
  /** The job re-embedding the library with it. */
  reindexJobId: string | null;
  error: string | null;
}

const RATE_WINDOW_MS = 10_000;

/** Download progress of one install, with the rate over the last seconds and the time left at that rate. */
export class InstallProgress {
  private readonly received = new Map<string, number>();
  private readonly samples: { at: number; bytes: number }[] = [];
  private s: InstallStatus;

  constructor(
    repo: string,
    private readonly now: () => number = Date.now,
  ) {
    this.s = {
      state: 'downloading',
      repo,
      step: null,
      receivedBytes: 0,
      totalBytes: 0,
      bytesPerSecond: null,
      etaSeconds: null,
      pack: null,
      reindexJobId: null,
      error: null,
    };
  }

  /** More files to fetch (the graphs' external data comes to light after the graphs). */
  planned(bytes: number): void {
    this.s = { ...this.s, totalBytes: this.s.totalBytes + bytes, ...(bytes > 0 ? { state: 'downloading' as const } : {}) };
  }

  file(p: FetchProgress): void {
    this.received.set(p.file, p.received);
    const bytes = [...this.received.values()].reduce((a, b) => a + b, 0);
    const at = this.now();
    this.samples.push({ at, bytes });
    while (this.samples.length > 2 && at - this.samples[0]!.at > RATE_WINDOW_MS) this.samples.shift();
    const first = this.samples[0]!;
    const rate = at > first.at ? ((bytes - first.bytes) * 1000) / (at - first.at) : null;
    this.s = {
      ...this.s,
      receivedBytes: bytes,
      bytesPerSecond: rate === null ? null : Math.round(rate),
      etaSeconds: rate ? Math.max(0, Math.round((this.s.totalBytes - bytes) / rate)) : null,
    };
  }

  /** A step after every planned byte arrived is the install's own work: splitting, checking, the smoke test. */
  step(message: string): void {
    const downloaded = this.s.totalBytes > 0 && this.s.receivedBytes >= this.s.totalBytes;
    this.s = { ...this.s, step: message, ...(downloaded && this.s.state === 'downloading' ? { state: 'installing' as const } : {}) };
  }

  to(state: InstallState, extra: Partial<Pick<InstallStatus, 'pack' | 'reindexJobId' | 'error'>> = {}): void {
    this.s = { ...this.s, state, ...extra, ...(state === 'ready' ? { etaSeconds: 0 } : {}) };
  }

  get status(): InstallStatus {
    return { ...this.s };
  }
}
