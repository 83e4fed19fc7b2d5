/** Differences between Postgres (the source of truth) and the vector store. */
export interface ReconcileReport {
  /** Indexed in Postgres under the current pack, but no vector. */
  missingVectors: string[];
  /** Vectors with no image row (or a failed one) behind them. */
  orphanPoints: string[];
  /** Embedded by another model pack. */
  staleModel: string[];
  /** Left pending by a crash or an outage, with no unfinished job to finish them. */
  stuckPending: string[];
  /** Deleted (hidden everywhere) but not yet removed from the store and disk: an outage or a crash came in between. */
  pendingDeletes: string[];
  /** Indexed images whose points' payload (what the search filters read) differs from their row. */
  payloadDrift: string[];
  /** Derivative files (thumbnails, previews, OCR inputs, movies) of no image, left by a crash between a write and its rows. */
  orphanFiles: string[];
  /** Set when fixing queued a re-index job. */
  reindexJobId: string | null;
}

/** Nothing to repair. */
export function isClean(r: ReconcileReport): boolean {
  return [r.missingVectors, r.orphanPoints, r.staleModel, r.stuckPending, r.pendingDeletes, r.payloadDrift, r.orphanFiles].every((l) => l.length === 0);
}
