import { hostname } from 'node:os';
import type { StageCounts, StageTaskRepository, StageTaskRow } from '../db/repositories';
import type { Logger } from '../util/logger';
import { processAlive } from '../util/processAlive';
import type { ImageListener, IndexedImage } from './imageEvents';
import { NEVER_BUSY, type IngestActivity } from './ingestActivity';
import { ALWAYS, type Turn } from './quietTurn';
import { StageRunner, type Attempted, type RunnerSettings } from './stageRunner';
import type { Outcome, WorkItem, WorkQueue } from './workQueue';

/** One image's work for a stage, made with the stage's `version`. */
export interface ImageTask {
  imageId: string;
  owner: string;
  version: string;
}

/**
 * Work done once per image in the background: register one with ImageStages and it runs over new images
 * as they are stored and over the library that was there before (backfill), leased, retried, and again
 * over every image when its version changes.
 */
export interface ImageStage {
  /** Its key in the task table and in status counts. */
  readonly name: string;
  /** What its results are made with (a model pack's key): a change remakes every image's. Null: off for now. */
  version(): string | null;
  /** Does the work and stores what it made; throws PermanentFailure when retrying cannot help. */
  run(task: ImageTask): Promise<void>;
  /** Starts items only while no query waits (model work). */
  readonly background: boolean;
  /** True while someone else does this stage's work (pull workers): the images are queued, not claimed here. */
  paused?(): boolean;
  readonly settings?: Partial<RunnerSettings>;
}

type TaskItem = WorkItem & StageTaskRow;

/** The generic per-image task table as one stage's queue; a new version is backfilled on the next claim. */
class StageTaskQueue implements WorkQueue<TaskItem> {
  private backfilled: string | null = null;

  constructor(
    private readonly stage: ImageStage,
    private readonly repo: StageTaskRepository,
    private readonly holder: string,
    private readonly ingest: IngestActivity,
    private readonly log: Logger,
  ) {}

  async claim(take: number, leaseMs: number): Promise<TaskItem[]> {
    const version = this.stage.version();
    if (version === null) return [];
    if (version !== this.backfilled) {
      const queued = await this.repo.backfill(this.stage.name, version);
      if (queued > 0) this.log.info({ stage: this.stage.name, version, queued }, 'stage queued the images it has not done with this version');
      this.backfilled = version;
    }
    if (this.stage.paused?.() || this.ingest.busy) return [];
    const rows = await this.repo.claim(this.stage.name, take, leaseMs, this.holder);
    return rows.map((r) => ({ ...r, id: r.imageId }));
  }

  settle(item: TaskItem, outcome: Outcome<void>): Promise<void> {
    return this.repo.settle(this.stage.name, item, this.holder, outcome);
  }

  release(ids: readonly string[]): Promise<void> {
    return this.repo.release(this.stage.name, ids);
  }

  async nextDue(): Promise<Date | null> {
    // A version not backfilled yet is work due now.
    const version = this.stage.version();
    if (version === null) return null;
    if (version !== this.backfilled) return new Date();
    // Paused: look again at the next poll, when the others may have gone. Ingest's end wakes the stage.
    return this.stage.paused?.() || this.ingest.busy ? null : this.repo.nextDue(this.stage.name);
  }
}

export interface ImageStagesDeps {
  repo: StageTaskRepository;
  defaults: RunnerSettings;
  /** When model work may start (queries first). */
  turn?: Turn;
  /** No work is claimed while it is busy. */
  ingest?: IngestActivity;
  observe?: (stage: string, a: Attempted) => void;
  log: Logger;
}

/** The registered image stages: each on its own runner, all queued by one listener on the image events. */
export class ImageStages implements ImageListener {
  readonly name = 'image stages';
  private readonly entries: { stage: ImageStage; runner: StageRunner<TaskItem> }[] = [];
  /** This process, for leases: a restart on this host frees what its dead predecessor held. */
  private readonly holder = `${hostname()}:${process.pid}`;

  constructor(private readonly deps: ImageStagesDeps) {}

  register(stage: ImageStage): void {
    const { repo, defaults, log } = this.deps;
    if (this.entries.some((e) => e.stage.name === stage.name)) throw new Error(`image stage ${stage.name} is registered twice`);
    const queue = new StageTaskQueue(stage, repo, this.holder, this.deps.ingest ?? NEVER_BUSY, log);
    const run = (t: TaskItem) => stage.run({ imageId: t.imageId, owner: t.owner, version: t.version });
    const runner = new StageRunner(stage.name, queue, run, { ...defaults, ...stage.settings }, log, stage.background ? this.deps.turn : ALWAYS, (a) =>
      this.deps.observe?.(stage.name, a),
    );
    this.entries.push({ stage, runner });
  }

  get names(): string[] {
    return this.entries.map((e) => e.stage.name);
  }

  async start(): Promise<void> {
    const freed = await this.deps.repo.releaseDead(hostname(), processAlive);
    if (freed > 0) this.deps.log.info({ freed }, 'freed stage tasks a stopped process of this host held');
    for (const e of this.entries) e.runner.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.entries.map((e) => e.runner.stop()));
    this.deps.turn?.close();
  }

  async indexed(images: readonly IndexedImage[]): Promise<void> {
    for (const { stage, runner } of this.entries) {
      const version = stage.version();
      if (version === null) continue;
      await this.deps.repo.enqueue(stage.name, version, images);
      runner.wake();
    }
  }

  async reindexed(imageIds: readonly string[]): Promise<void> {
    await this.deps.repo.retryNow(imageIds);
    this.wake();
  }

  /** A stage's inputs changed outside ingest (a pack switch): look now rather than at the next poll. */
  wake(): void {
    for (const e of this.entries) e.runner.wake();
  }

  /** Resolves when no stage has work due now (or ingest runs). */
  async idle(): Promise<void> {
    for (const e of this.entries) await e.runner.idle();
  }

  /** Counts by stage, of every image or of one job's. */
  async counts(jobId?: string): Promise<Record<string, StageCounts>> {
    const out: Record<string, StageCounts> = {};
    for (const e of this.entries) out[e.stage.name] = await this.deps.repo.counts(e.stage.name, jobId);
    return out;
  }
}
