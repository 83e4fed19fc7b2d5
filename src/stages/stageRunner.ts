import { isDatabaseUnavailable } from '../db/unavailable';
import type { Logger } from '../util/logger';
import { ALWAYS, type Turn } from './quietTurn';
import { PermanentFailure, type Outcome, type WorkItem, type WorkQueue } from './workQueue';

export interface RunnerSettings {
  /** Items handled at once. */
  concurrency: number;
  /** Items claimed per round trip. */
  page: number;
  /** An item is done within this; one whose holder died is offered again after it. */
  leaseMs: number;
  /** How often work queued by other processes (the ingest CLI, another instance) is looked for. */
  pollMs: number;
  /** Attempts before an item is given up; Infinity retries for ever (the failure is never the item's). */
  maxAttempts: number;
  /** First retry delay; doubles per attempt, capped at retryMaxMs. */
  retryBaseMs: number;
  retryMaxMs: number;
}

export interface Attempted {
  state: Outcome<unknown>['state'];
  ms: number;
}

/**
 * The one background loop every stage runs on (OCR, duplicate grouping, auto tags, captions, webhook
 * deliveries): claims leased pages from its queue, handles items at its concurrency when queries leave
 * room, records each outcome, retries failures with exponential backoff, and sleeps until the next item
 * falls due or a wake(). stop() lets started items finish and gives the rest of the page back.
 */
export class StageRunner<T extends WorkItem, R = void> {
  private running: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private stopped = true;

  constructor(
    readonly name: string,
    private readonly queue: WorkQueue<T, R>,
    private readonly handle: (item: T) => Promise<R>,
    private readonly settings: RunnerSettings,
    private readonly log: Logger,
    private readonly turn: Turn = ALWAYS,
    private readonly observe: (a: Attempted) => void = () => undefined,
  ) {}

  start(): void {
    this.stopped = false;
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** New work: take it now (a pass in progress takes another turn). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.running = this.drain(true)
      .catch((e: Error) => this.log.warn({ stage: this.name, err: e.message }, 'stage pass failed; the next one retries'))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.wake();
        } else void this.scheduleNext();
      });
  }

  /** Resolves when nothing is due now (tests, CLIs; a runner never started handles the work here). */
  async idle(): Promise<void> {
    for (;;) {
      while (this.running) await this.running;
      const next = await this.queue.nextDue();
      if (!next || next.getTime() > Date.now()) return;
      if (this.stopped) await this.drain(false);
      else {
        this.wake();
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  }

  /** Handles one item now, outside the loop (a webhook's test delivery), and records how it went. */
  async runNow(item: T): Promise<Outcome<R>> {
    return this.attempt(item);
  }

  private async scheduleNext(): Promise<void> {
    if (this.stopped) return;
    const next = await this.queue.nextDue().catch(() => null);
    if (this.stopped || this.running) return;
    const delay = Math.min(next ? Math.max(next.getTime() - Date.now(), 0) : this.settings.pollMs, this.settings.pollMs);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.wake(), delay);
    this.timer.unref();
  }

  /**
   * Handles items at the runner's concurrency until none is due. The next page is claimed as soon as the
   * last one has no item left to start, not once all its items are done: a long item (the OCR of a menu)
   * does not leave the other slots idle until it ends.
   */
  private async drain(stoppable: boolean): Promise<void> {
    const halt = () => stoppable && this.stopped;
    const claimed: T[] = [];
    let exhausted = false;
    let claiming: Promise<void> | null = null;
    const next = async (): Promise<T | undefined> => {
      while (claimed.length === 0 && !exhausted) {
        claiming ??= this.queue
          .claim(this.settings.page, this.settings.leaseMs)
          .then((page) => {
            claimed.push(...page);
            exhausted = page.length === 0;
          })
          .finally(() => (claiming = null));
        await claiming;
      }
      return claimed.shift();
    };
    const slot = async () => {
      while (!halt()) {
        const item = await next();
        if (!item) return;
        await this.turn.wait();
        if (halt()) {
          claimed.unshift(item);
          return;
        }
        await this.attempt(item);
      }
    };
    const slots = await Promise.allSettled(Array.from({ length: this.settings.concurrency }, slot));
    if (claimed.length) await this.queue.release(claimed.map((i) => i.id));
    const failed = slots.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private async attempt(item: T): Promise<Outcome<R>> {
    const start = performance.now();
    let outcome: Outcome<R>;
    try {
      outcome = { state: 'done', result: await this.handle(item) };
    } catch (cause) {
      const error = (cause as Error).message ?? String(cause);
      const attempts = item.attempts + 1;
      // PostgreSQL away for a moment is no fault of the item's: it is never given up for that.
      outcome =
        cause instanceof PermanentFailure || (attempts >= this.settings.maxAttempts && !isDatabaseUnavailable(cause))
          ? { state: 'failed', error, cause }
          : { state: 'retry', error, cause, dueAt: new Date(Date.now() + Math.min(this.settings.retryBaseMs * 2 ** (attempts - 1), this.settings.retryMaxMs)) };
      if (outcome.state === 'failed') this.log.warn({ stage: this.name, item: item.id, attempts, err: error }, 'stage gave an item up');
    }
    // An outcome that cannot be recorded (the database is away) is found again when the lease runs out.
    await this.queue
      .settle(item, outcome)
      .catch((e: Error) => this.log.warn({ stage: this.name, item: item.id, err: e.message }, 'could not record a stage outcome'));
    this.observe({ state: outcome.state, ms: performance.now() - start });
    return outcome;
  }
}
