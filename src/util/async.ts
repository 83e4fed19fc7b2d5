/**
 * Maps items with at most `concurrency` calls in flight, yielding results in input order.
 * Work keeps running while the consumer handles a yielded result, which is what lets
 * decoding overlap encoding in the ingest pipeline.
 */
export async function* mapConcurrent<T, R>(items: Iterable<T>, concurrency: number, fn: (item: T) => Promise<R>): AsyncIterable<R> {
  const inflight: Promise<R>[] = [];
  const it = items[Symbol.iterator]();
  const fill = () => {
    while (inflight.length < concurrency) {
      const next = it.next();
      if (next.done) return;
      const p = fn(next.value);
      // Rejections are observed when the result is yielded; this keeps them from going unhandled meanwhile.
      p.catch(() => undefined);
      inflight.push(p);
    }
  };
  fill();
  while (inflight.length > 0) {
    const result = await inflight.shift()!;
    fill();
    yield result;
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
