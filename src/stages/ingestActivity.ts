/**
 * Whether this process is ingesting (a job encoding photos). OCR and the image stages claim no work meanwhile:
 * on the same cores they slowed ingest by a third and finished the text no sooner (`docs/benchmarks.md`), so a
 * new library becomes searchable by meaning first and its words, tags and duplicates follow.
 */
export interface IngestActivity {
  readonly busy: boolean;
  /** A job starts encoding; returns what ends it (once). */
  begin(): () => void;
  /** Calls `listener` each time the last running job ends; returns the way to stop. */
  onIdle(listener: () => void): () => void;
}

export class JobActivity implements IngestActivity {
  private jobs = 0;
  private readonly listeners = new Set<() => void>();

  get busy(): boolean {
    return this.jobs > 0;
  }

  begin(): () => void {
    this.jobs++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--this.jobs === 0) for (const l of this.listeners) l();
    };
  }

  onIdle(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** BACKGROUND_DURING_INGEST=run: background work never waits for ingest. */
export const NEVER_BUSY: IngestActivity = { busy: false, begin: () => () => undefined, onIdle: () => () => undefined };
