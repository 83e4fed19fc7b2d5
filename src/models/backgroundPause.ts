/** Work that can be stopped where it is and continued later (ingest's decode processes). */
export interface Pausable {
  pause(): void;
  resume(): void;
}

/**
 * Pauses background work while queries are busy (see EncoderGate.watchQueries), within a duty cycle: a
 * pause ends when the queries do or after maxPauseMs, and the work then runs at least as long as it was
 * paused before the next pause begins. Someone typing a search now and then pauses ingest's decoding
 * for the few tens of milliseconds each search encodes; searches that never stop leave it half the time.
 */
export class BackgroundPause {
  private busy = false;
  private paused = false;
  private stopped = false;
  private pausedAt = 0;
  private nextPauseAt = -Infinity;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly work: Pausable,
    private readonly maxPauseMs: number,
  ) {}

  /** The queries' state changed: busy (one waits or runs) or not. */
  queries(busy: boolean): void {
    if (this.stopped) return;
    this.busy = busy;
    if (busy && !this.paused) this.tryPause();
    else if (!busy && this.paused) this.run();
  }

  private tryPause(): void {
    this.clearTimer();
    const wait = this.nextPauseAt - performance.now();
    if (wait > 0) {
      this.timer = setTimeout(() => this.busy && this.tryPause(), wait).unref();
      return;
    }
    this.paused = true;
    this.pausedAt = performance.now();
    this.work.pause();
    this.timer = setTimeout(() => this.run(), this.maxPauseMs).unref();
  }

  private run(): void {
    this.clearTimer();
    this.paused = false;
    const now = performance.now();
    this.nextPauseAt = now + (now - this.pausedAt);
    this.work.resume();
    if (this.busy) this.tryPause();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Lets the work run for good (shutdown). */
  stop(): void {
    this.stopped = true;
    this.busy = false;
    if (this.paused) this.run();
    this.clearTimer();
  }
}
