/**
 * Maps items with at most `concurrency` calls in flight, yielding each result as soon as it is ready, not in input
 * order: one slow item (a URL that answers late) must not hold back the ones after it. Work keeps running while the
 * consumer handles a yielded result, which is what lets decoding overlap encoding in the ingest pipeline. A call
 * that fails throws from the iteration once it has failed.
 */
export async function* mapAsReady<T, R>(items: Iterable<T>, concurrency: number, fn: (item: T) => Promise<R>): AsyncIterable<R> {
  const inflight = new Map<number, Promise<{ key: number; result: PromiseSettledResult<R> }>>();
  const it = items[Symbol.iterator]();
  let keys = 0;
  const fill = () => {
    while (inflight.size < concurrency) {
      const next = it.next();
      if (next.done) return;
      const key = keys++;
      const settled = fn(next.value).then(
        (value) => ({ key, result: { status: 'fulfilled', value } as const }),
        (reason: unknown) => ({ key, result: { status: 'rejected', reason } as const }),
      );
      inflight.set(key, settled);
    }
  };
  fill();
  while (inflight.size > 0) {
    const { key, result } = await Promise.race(inflight.values());
    inflight.delete(key);
    fill();
    if (result.status === 'rejected') throw result.reason;
    yield result.value;
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Retries a transient operation with exponential backoff; the last error is rethrown. */
export async function withRetry<T>(fn: () => Promise<T>, attempts: number, baseDelayMs: number, onRetry?: (e: Error, attempt: number) => void): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= attempts) throw e;
      onRetry?.(e as Error, attempt);
      await sleep(baseDelayMs * 2 ** (attempt - 1));
    }
  }
}

/** At most `slots` callers inside `run` at once; the rest wait in order. */
export class Semaphore {
  private waiting: (() => void)[] = [];
  private busy = 0;

  constructor(private readonly slots: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.busy >= this.slots) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.busy++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.busy--;
    }
  }
}
