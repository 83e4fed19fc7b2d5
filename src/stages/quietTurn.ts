/** Watches whether queries wait for or run on the encoder (see EncoderGate.watchQueries); returns the unwatch. */
export type FollowQueries = (listener: (busy: boolean) => void) => () => void;

/** When background work may start its next item. */
export interface Turn {
  wait(): Promise<void>;
  close(): void;
}

export const ALWAYS: Turn = { wait: () => Promise.resolve(), close: () => undefined };

/**
 * Background stages start an item only while no query waits or runs, so a search never queues behind a
 * caption or an OCR read that began meanwhile. A stream of queries that never pauses delays an item by
 * at most maxWaitMs: background work slows down but never stops.
 */
export class QuietTurn implements Turn {
  private busy = false;
  private waiters: (() => void)[] = [];
  private readonly unfollow: () => void;

  constructor(
    follow: FollowQueries,
    private readonly maxWaitMs: number,
  ) {
    this.unfollow = follow((busy) => {
      this.busy = busy;
      if (!busy) this.releaseAll();
    });
  }

  wait(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve();
      }, this.maxWaitMs);
      timer.unref();
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push(done);
    });
  }

  private releaseAll(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  close(): void {
    this.unfollow();
    this.busy = false;
    this.releaseAll();
  }
}
