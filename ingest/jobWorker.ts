import type { IngestRepository, OcrRepository } from '../src/db/repositories';
import type { Logger } from '../src/util/logger';
import type { DecodeLimits } from '../src/images/decode';
import type { DecodePool } from '../src/images/decodePool';
import { OcrBackfill } from './ocrBackfill';
import { IngestPipeline, StoreUnavailable, type JobProgress, type PipelineDeps } from './pipeline';
import { dropStagedUploads } from './sources/uploadStaging';

export interface WorkerDeps extends PipelineDeps {
  jobs: IngestRepository;
  ocrRows: OcrRepository;
  stagingDir: string;
  /** OCR backfill decodes (HEIC included) on the decode threads. */
  decoder: Pick<DecodePool, 'ocrInput'>;
  decode: DecodeLimits;
  /** First retry delay while the vector store is down; doubles per attempt up to 5 minutes. */
  jobRetryBaseMs: number;
  /** Every job's progress, e.g. for metrics. */
  onProgress?: ((delta: Partial<JobProgress>) => void) | undefined;
  log: Logger;
}

const MAX_RETRY_MS = 300_000;

/**
 * Runs ingest jobs one at a time (the encoder is the bottleneck; one job saturates it): claims a
 * job's pending items page by page, hands them to the pipeline, records how the job ended, and
 * retries with backoff while the vector store is down. Unfinished jobs are picked up again on
 * start, which is what makes ingest resumable.
 */
export class JobWorker {
  private readonly pipeline: IngestPipeline;
  private readonly backfill: OcrBackfill;
  private readonly queue: string[] = [];
  private current: Promise<void> | null = null;
  private currentJob: string | null = null;
  private stopping = false;
  private readonly retries = new Map<string, { attempt: number; timer: NodeJS.Timeout }>();
  /** Jobs cancelled while this process runs them: they stop after the batch in progress. */
  private readonly cancelled = new Set<string>();

  constructor(private readonly deps: WorkerDeps) {
    this.pipeline = new IngestPipeline(deps);
    this.backfill = new OcrBackfill(deps);
  }

  /** Runs a job to its end in the caller's context (the CLI), reporting progress per item. */
  async runJob(jobId: string, onProgress?: (delta: Partial<JobProgress>) => void): Promise<void> {
    const { jobs } = this.deps;
    const job = await jobs.findJob(jobId);
    if (!job) throw new Error(`ingest job ${jobId} not found`);
    if (!(await jobs.markRunning(job))) return; // cancelled or finished meanwhile
    const { kind } = job;
    const report = (d: Partial<JobProgress>) => {
      onProgress?.(d);
      this.deps.onProgress?.(d);
    };
    try {
      let cursor: string | undefined;
      for (;;) {
        // Stopping leaves the job 'running', resumed on the next start; a cancel has already recorded its state.
        if (this.stopping) return;
        if (this.cancelled.has(jobId)) {
          this.cancelled.delete(jobId);
          if (job.kind === 'upload') await dropStagedUploads(this.deps.stagingDir, jobId);
          return;
        }
        const items = await jobs.claimPendingItems(jobId, cursor);
        if (items.length === 0) break;
        cursor = items[items.length - 1]!.id;
        const shouldStop = () => this.stopping || this.cancelled.has(jobId);
        if (kind === 'ocr') await this.backfill.run(items, report, shouldStop);
        else
          await this.pipeline.run(
            { jobId, owner: job.owner, albums: job.albums, kind },
            items.map((i) => ({ itemId: i.id, source: i.source, externalId: i.externalId, imageId: i.imageId })),
            report,
            shouldStop,
          );
      }
      await jobs.markCompleted(jobId);
      if (job.kind === 'upload') await dropStagedUploads(this.deps.stagingDir, jobId);
      await this.announce('job.completed', job);
    } catch (e) {
      // An outage is not the job's fault: it stays queued (resumed on retry or restart), with the reason recorded.
      const outage = e instanceof StoreUnavailable;
      await jobs.markStopped(jobId, (e as Error).message, outage);
      if (!outage) {
        this.deps.log.error({ err: e, job: jobId }, 'ingest job failed');
        await this.announce('job.failed', job, (e as Error).message);
      }
      throw e;
    }
  }

  private async announce(type: 'job.completed' | 'job.failed', job: { id: string; owner: string; kind: string }, error?: string): Promise<void> {
    if (job.kind === 'reindex' || job.kind === 'ocr') return;
    const counts = await this.deps.jobs.itemCounts(job.id);
    await this.deps.events
      .emit([{ type, owner: job.owner, data: { jobId: job.id, kind: job.kind, ...counts, ...(error ? { error } : {}) } }])
      .catch((e: Error) => this.deps.log.warn({ err: e.message, job: job.id }, `could not record ${type} event`));
  }

  /** A cancelled job leaves the queue, or stops after the batch it is writing. */
  cancel(jobId: string): void {
    const queued = this.queue.indexOf(jobId);
    // A queued job simply never runs; one that runs (here or in a CLI) sees the flag after its batch.
    if (queued >= 0) this.queue.splice(queued, 1);
    else this.cancelled.add(jobId);
    clearTimeout(this.retries.get(jobId)?.timer);
    this.retries.delete(jobId);
  }

  /** Resolves once the worker no longer runs this job (a cancelled job finishes the batch it is writing). */
  async settled(jobId: string): Promise<void> {
    while (this.currentJob === jobId && this.current) await this.current;
  }

  /** Queues a job; it runs after those before it. */
  enqueue(jobId: string): void {
    this.queue.push(jobId);
    this.kick();
  }

  private kick(): void {
    if (this.current || this.stopping) return;
    const next = this.queue.shift();
    if (!next) return;
    this.currentJob = next;
    this.current = this.runJob(next)
      .then(() => {
        this.retries.delete(next);
      })
      .catch((e: Error) => {
        if (e instanceof StoreUnavailable) this.retryLater(next);
        else this.deps.log.warn({ job: next, err: e.message }, 'ingest job stopped');
      })
      .finally(() => {
        this.current = null;
        this.currentJob = null;
        this.kick();
      });
  }

  /** Exponential backoff per job (1 s, 2 s, 4 s ... 5 min) while the vector store is down. */
  private retryLater(jobId: string): void {
    const attempt = (this.retries.get(jobId)?.attempt ?? 0) + 1;
    const delay = Math.min(this.deps.jobRetryBaseMs * 2 ** (attempt - 1), MAX_RETRY_MS);
    this.deps.log.warn({ job: jobId, attempt, delayMs: delay }, 'vector store unavailable; ingest job will retry');
    const timer = setTimeout(() => this.enqueue(jobId), delay);
    timer.unref();
    this.retries.set(jobId, { attempt, timer });
  }

  /** Re-queues jobs left unfinished by a crash or restart. */
  async resumeUnfinished(): Promise<string[]> {
    const ids = await this.deps.jobs.unfinishedJobIds();
    for (const id of ids) this.enqueue(id);
    return ids;
  }

  get queueDepth(): number {
    return this.queue.length + (this.current ? 1 : 0);
  }

  /** Resolves when the queue is empty (tests and graceful shutdown). */
  async idle(): Promise<void> {
    while (this.current) await this.current;
  }

  /** Stops after the batch in progress; unfinished jobs keep their state and resume on next start. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const r of this.retries.values()) clearTimeout(r.timer);
    await this.current;
  }
}
