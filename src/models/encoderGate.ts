/** Who is waiting for the encoder: a person searching, or ingest working through a library. */
export type Priority = 'interactive' | 'background';

/** The gate's lanes: besides those, work on photos already searchable by meaning (OCR), which may wait for ingest. */
export type Lane = Priority | 'deferred';

type Behind = Exclude<Lane, 'interactive'>;

/** The lanes behind queries, in the order they go. */
const BEHIND: readonly Behind[] = ['background', 'deferred'];

/** Slots are counted in shares (see run): sums of thirds need not come back to exactly 0. */
const EPSILON = 1e-9;

/**
 * Admits encoder runs by priority. Interactive runs (queries) start as soon as a slot is free;
 * background runs (ingest) start only while no interactive run is waiting or running, so a query
 * waits at most for the background runs already started, which ingest keeps short (see
 * BackgroundChunker); deferred runs (OCR) start only while, besides, no background run waits, so a new
 * photo becomes searchable by meaning before the text of the last one is read. Background and deferred
 * runs take their turn between queries, and one that has waited starvationMs takes the next free slot
 * even under a stream of queries (or ingest runs) that never pauses.
 */
export class EncoderGate {
  private readonly active: Record<Lane, number> = { interactive: 0, background: 0, deferred: 0 };
  private readonly waiting: Record<Lane, { since: number; share: number; resume: () => void }[]> = { interactive: [], background: [], deferred: [] };
  private readonly queryWatchers = new Set<(busy: boolean) => void>();
  private queriesBusy = false;

  /**
   * @param starvationMs a background or deferred run waiting this long starts beside queries (one at a time),
   *   so a stream of queries that never pauses slows ingest and OCR down but cannot stop them.
   */
  constructor(
    private readonly capacity: number,
    private readonly starvationMs = 2000,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`encoder capacity must be a positive integer, got ${capacity}`);
  }

  /** Runs waiting for a slot (queue depth, for metrics). */
  get pending(): number {
    return this.waiting.interactive.length + this.waiting.background.length + this.waiting.deferred.length;
  }

  /**
   * Calls `watcher(true)` when a query starts waiting for or running on the encoder while none was, and
   * `watcher(false)` when the last one is done: work outside the gate (ingest's decoding) can step aside
   * meanwhile. Returns the way to stop watching.
   */
  watchQueries(watcher: (busy: boolean) => void): () => void {
    this.queryWatchers.add(watcher);
    return () => this.queryWatchers.delete(watcher);
  }

  private queriesChanged(): void {
    const busy = !this.quiet();
    if (busy === this.queriesBusy) return;
    this.queriesBusy = busy;
    for (const w of this.queryWatchers) w(busy);
  }

  private quiet(): boolean {
    return this.active.interactive < EPSILON && this.waiting.interactive.length === 0;
  }

  private activeBehind(): number {
    return this.active.background + this.active.deferred;
  }

  private canStart(p: Lane, share: number, now = performance.now()): boolean {
    const behind = this.activeBehind();
    if (this.active.interactive + behind + share > this.capacity + EPSILON) return false;
    if (p === 'interactive') return true;
    // One slot stays free for queries: they never wait for a background run to end.
    if (this.capacity > 1 && behind + share > this.capacity - 1 + EPSILON) return false;
    if (this.starving(p, now)) return true;
    return this.quiet() && (p === 'background' || this.waiting.background.length === 0);
  }

  private starving(p: Behind, now = performance.now()): boolean {
    return this.activeBehind() < EPSILON && (this.waiting[p][0]?.since ?? now) <= now - this.starvationMs;
  }

  /**
   * @param share of a slot the run takes: a run on fewer threads than the machine has cores leaves the rest
   *   to another (OCR on one thread takes half a slot on 2 cores, so two photos are read at once beside ingest's
   *   or nothing, and queries keep their slot). Queries take whole slots.
   */
  async run<T>(priority: Lane, task: () => Promise<T>, share = 1): Promise<T> {
    if (!(share > 0 && share <= 1) || (priority === 'interactive' && share !== 1)) throw new Error(`a ${priority} run cannot take ${share} of a slot`);
    // A waiter is handed its slot by admit(), already counted.
    if (this.waiting[priority].length === 0 && this.canStart(priority, share)) this.active[priority] += share;
    else
      await new Promise<void>((resume) => {
        this.waiting[priority].push({ since: performance.now(), share, resume });
        this.queriesChanged();
      });
    this.queriesChanged();
    try {
      return await task();
    } finally {
      this.active[priority] -= share;
      this.admit();
      this.queriesChanged();
    }
  }

  private admit(): void {
    // A run that has waited too long takes the next free slot; otherwise queries, then ingest, then OCR.
    const starved = BEHIND.filter((p) => this.starving(p));
    const order: Lane[] = [...starved, 'interactive', ...BEHIND.filter((p) => !starved.includes(p))];
    for (const p of order) {
      for (let next = this.waiting[p][0]; next && this.canStart(p, next.share); next = this.waiting[p][0]) {
        this.active[p] += next.share;
        this.waiting[p].shift()!.resume();
      }
    }
  }
}

/**
 * Splits background encoding into runs short enough that a query never waits long behind one: the
 * run size follows the measured time per item so that a run takes about `targetMs` (at least one
 * item, at most the batch size).
 */
export class BackgroundChunker {
  private msPerItem: number | null = null;

  constructor(
    private readonly batchSize: number,
    private readonly targetMs: number,
  ) {}

  get size(): number {
    if (this.msPerItem === null) return 1;
    return Math.max(1, Math.min(this.batchSize, Math.floor(this.targetMs / this.msPerItem)));
  }

  observe(items: number, ms: number): void {
    const per = ms / Math.max(1, items);
    this.msPerItem = this.msPerItem === null ? per : 0.7 * this.msPerItem + 0.3 * per;
  }
}
