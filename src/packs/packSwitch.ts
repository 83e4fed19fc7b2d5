import type { ActiveModel } from './activeModel';
import type { Logger } from '../util/logger';

/** A pack loaded and ready to serve (see ModelLoader), and what closes it. */
export interface ServingPack {
  readonly dir: string;
  readonly model: ActiveModel['current'];
  close(): Promise<void>;
}

/** What a pack change needs of ingest: no batch in flight while the model changes, then the library re-embedded. */
export interface IngestDuringSwitch {
  /** Stops after the batch being written (jobs stay resumable) and resolves when none runs. */
  pause(): Promise<void>;
  resume(): void;
  /** Queues re-embedding of every image the new pack has not embedded (from the stored previews); null when none. */
  reindex(): Promise<string | null>;
}

export interface PackSwitchDeps<P extends ServingPack> {
  active: ActiveModel;
  serving: P;
  load(dir: string): Promise<P>;
  ingest: IngestDuringSwitch;
  /** Re-embeds the image-to-text corpus for the new pack; runs in the background. */
  reembedTexts(): Promise<number>;
  /** How long the replaced pack stays open for requests that took it before the change. */
  graceMs: number;
  log: Logger;
}

export interface SwitchOutcome {
  pack: string;
  /** The job re-embedding the library, shown in the job list; null when nothing needed it. */
  reindexJobId: string | null;
}

/**
 * Changes the pack the service runs on without a restart. The next pack is loaded and warmed while the
 * current one serves; ingest stops after the batch it is writing; the model is replaced in one step (a
 * search holds the pack it started with to its end); ingest goes on with the new pack, and a resumable job
 * re-embeds what the new pack has not. The replaced pack is closed once requests that hold it are done.
 * One change at a time.
 */
export class PackSwitch<P extends ServingPack = ServingPack> {
  private serving: P;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly closing = new Set<{ timer: NodeJS.Timeout; pack: ServingPack }>();

  constructor(private readonly deps: PackSwitchDeps<P>) {
    this.serving = deps.serving;
  }

  /** The folder of the pack in use. */
  get dir(): string {
    return this.serving.dir;
  }

  get current(): P {
    return this.serving;
  }

  switchTo(dir: string): Promise<SwitchOutcome> {
    const next = this.queue.then(() => this.change(dir));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async change(dir: string): Promise<SwitchOutcome> {
    const { active, ingest, log } = this.deps;
    const loaded = await this.deps.load(dir);
    if (loaded.model.pack.key === active.current.pack.key) {
      await loaded.close();
      return { pack: loaded.model.pack.key, reindexJobId: null };
    }
    await ingest.pause();
    const previous = this.serving;
    let reindexJobId: string | null;
    try {
      active.replace(loaded.model);
      this.serving = loaded;
      // Queued before ingest resumes: the re-index is the first work ingest does on the new pack.
      reindexJobId = await ingest.reindex();
    } finally {
      ingest.resume();
    }
    log.info(
      { from: previous.model.pack.key, to: loaded.model.pack.key, reindexJobId },
      'switched model pack: searches use it now, the library is re-embedded',
    );
    void this.deps
      .reembedTexts()
      .then((n) => n && log.info({ texts: n }, 're-embedded texts for the new model pack'))
      .catch((e: Error) => log.warn({ err: e.message }, 're-embedding texts failed; the next start retries'));
    this.closeLater(previous);
    return { pack: loaded.model.pack.key, reindexJobId };
  }

  private closeLater(pack: ServingPack): void {
    const entry = {
      pack,
      timer: setTimeout(() => {
        this.closing.delete(entry);
        void pack.close().catch((e: Error) => this.deps.log.warn({ err: e.message }, 'closing the replaced model pack failed'));
      }, this.deps.graceMs),
    };
    entry.timer.unref();
    this.closing.add(entry);
  }

  /** Waits for a change in progress, then closes the pack in use and any replaced one still open. */
  async close(): Promise<void> {
    await this.queue;
    for (const entry of this.closing) clearTimeout(entry.timer);
    await Promise.all([...this.closing].map((e) => e.pack.close()));
    this.closing.clear();
    await this.serving.close();
  }
}
