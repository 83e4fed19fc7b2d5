/** One unit of a stage's work, as its queue hands it out. */
export interface WorkItem {
  id: string;
  /** Attempts made before this one. */
  attempts: number;
}

/** How an attempt ended: done (with what the handler returned), due again later, or given up. */
export type Outcome<R> =
  { state: 'done'; result: R } | { state: 'retry'; error: string; dueAt: Date; cause: unknown } | { state: 'failed'; error: string; cause: unknown };

/**
 * Where a stage's work is kept (the port the runner drives). Adapters: the generic per-image task table
 * (`stageTaskQueue.ts`), OCR's state on the image row, the webhook outbox. Claims are leases, so instances
 * sharing one database never hold one item twice, and an item whose holder died is offered again.
 */
export interface WorkQueue<T extends WorkItem, R = void> {
  claim(take: number, leaseMs: number): Promise<T[]>;
  /** Records the outcome and ends the lease. */
  settle(item: T, outcome: Outcome<R>): Promise<void>;
  /** Gives back claimed items not started (the runner is stopping): anyone may take them at once. */
  release(ids: readonly string[]): Promise<void>;
  /** When the next item falls due: now or earlier when one waits, null when none is known (the runner polls). */
  nextDue(): Promise<Date | null>;
}

/** An error that retrying cannot mend (an image that cannot be read): the item fails at once. */
export class PermanentFailure extends Error {}
