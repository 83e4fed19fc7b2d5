import type { IngestRepository, JobRow, OcrRepository } from '../src/db/repositories';
import type { Logger } from '../src/util/logger';
import type { EventSink } from '../src/events/events';
import type { DecodeLimits } from '../src/images/decode';
import type { DecodePool } from '../src/images/decodePool';
import { OcrBackfill, type OcrBackfillDeps } from './ocrBackfill';
import { IngestPipeline, StoreUnavailable, type JobProgress, type PipelineDeps } from './pipeline';
import { dropStagedUploads } from './sources/uploadStaging';
import { isDeadLocalHolder, JobLease, leaseHolderName, type LeaseSettings } from './jobLease';
import { sleep } from '../src/util/async';
import { isDatabaseUnavailable, outageReason } from '../src/db/unavailable';
import type { IngestActivity } from '../src/stages/ingestActivity';
import { JobTurn } from './jobTurn';

export interface WorkerDeps extends PipelineDeps {
  /** OCR, for backfill jobs: the copy it reads is made here and it is woken. */
  ocr: OcrBackfillDeps['ocr'];
  /** job.completed and job.failed, for webhooks. */
  events: EventSink;
  jobs: IngestRepository;
  ocrRows: OcrRepository;
  stagingDir: string;
  /** OCR backfill decodes (HEIC included) on the decode threads. */
  decoder: Pick<DecodePool, 'ocrInput' | 'warm'>;
  decode: DecodeLimits;
  /** First retry delay while the vector store is down; doubles per attempt up to 5 minutes. */
  jobRetryBaseMs: number;
  jobLease: LeaseSettings;
  /** A job that ran this long gives way to a waiting job (JobTurn); 0: jobs run to their end. */
  jobTurnMs: number;
  /** Every job's progress, e.g. for metrics. */
  onProgress?: ((delta: Partial<JobProgress>) => void) | undefined;
  /** Told while a job encodes photos (OCR backfill jobs do not), for the background work that waits for ingest. */
  activity: IngestActivity;
  log: Logger;
}

const MAX_RETRY_MS = 300_000;
const SETTLE_POLL_MS = 50;
const REMOTE_SETTLE_MS = 10_000;

/**
 * Runs ingest jobs one at a time (the encoder is the bottleneck; one job saturates it). The queue is
 * the jobs table itself: the worker leases an unfinished job nobody holds (jobs take turns, see
 * JobTurn), claims its pending items page by page, hands them to the pipeline and records how the job
 * ended. Leases are what let several instances share one database (and the ingest CLI run beside the
 * service) without running a job twice, and what hands a crashed holder's job to the next claim:
 * ingest is resumable wherever it stopped. While the vector store is down a job waits out a growing
 * delay recorded in the row.
 */
export class JobWorker {
  private readonly pipeline: IngestPipeline;
  private readonly backfill: OcrBackfill;
  readonly holder = leaseHolderName();
  private draining: Promise<void> | null = null;
  private again = false;
  private polling = false;
  private pollTimer: NodeJS.Timeout | null = null;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private stopping = false;
  /** Jobs this process runs, with their leases. */
  private readonly running = new Map<string, JobLease>();
  /** Jobs cancelled while this process runs them: they stop after the batch in progress. */
  private readonly cancelled = new Set<string>();
  private waiting = 0;
  /** Whether the worker polled when it was paused, to poll again on resume. */
  private pollingBeforePause = false;
  /** The ingest activity of a job whose turn ended, held until the next job has begun: OCR waits on through the switch. */
  private handover: (() => void) | null = null;

  constructor(private readonly deps: WorkerDeps) {
    this.pipeline = new IngestPipeline(deps);
    this.backfill = new OcrBackfill(deps);
  }

  /**
   * Sees a job to its end in the caller's context (the CLI), reporting progress per item: runs it
   * when its lease is free, or waits while another holder runs it (taking over if that holder dies).
   */
  async runJob(jobId: string, onProgress?: (delta: Partial<JobProgress>) => void): Promise<void> {
    const { jobs, jobLease, log } = this.deps;
    for (let waited = false; ; waited = true) {
      const job = await jobs.findJob(jobId);
      if (!job) throw new Error(`ingest job ${jobId} not found`);
      if (job.state !== 'queued' && job.state !== 'running') return;
      const lease = await JobLease.take(jobs, jobId, this.holder, jobLease, log);
      if (lease) return this.runLeased(lease, onProgress);
      if (this.stopping) return;
      if (job.leaseOwner && isDeadLocalHolder(job.leaseOwner)) {
        await this.freeDeadLeases();
        continue;
      }
      if (!waited)
        log.info(
          { job: jobId, holder: job.leaseOwner, until: job.leaseUntil },
          'another process runs this job: waiting for it (taken over if its lease runs out)',
        );
      await sleep(Math.min(jobLease.pollMs, 250));
    }
  }

  /**
   * Runs a job this worker holds the lease of, and lets the lease go however it ends. With `takingTurns`,
   * the job gives way to other owners' jobs (JobTurn); a job run for a caller (the CLI) runs to its end.
   */
  private async runLeased(lease: JobLease, onProgress?: (delta: Partial<JobProgress>) => void, takingTurns = false): Promise<void> {
    const { jobs } = this.deps;
    const jobId = lease.jobId;
    this.running.set(jobId, lease);
    let ended: () => void = () => undefined;
    let turn: JobTurn | null = null;
    let gaveWay = false;
    try {
      const job = await jobs.findJob(jobId);
      if (!job || !(await jobs.markRunning(job))) return; // cancelled or finished meanwhile
      if (job.kind !== 'ocr') ended = this.deps.activity.begin();
      this.endHandover();
      if (takingTurns) turn = JobTurn.start(jobs, { turnMs: this.deps.jobTurnMs, pollMs: this.deps.jobLease.pollMs }, this.deps.log);
      const turnOver = () => turn?.over ?? false;
      const report = (d: Partial<JobProgress>) => {
        onProgress?.(d);
        this.deps.onProgress?.(d);
      };
      // Stopping leaves the job 'running', resumed by the next claim; a cancel has already recorded its state.
      const shouldStop = () => this.stopping || this.cancelled.has(jobId) || lease.lost;
      try {
        let cursor: string | undefined;
        for (;;) {
          if (shouldStop()) return await this.leftOff(job);
          if (turnOver()) {
            // A job whose last photo was written in its turn ends now, not on its next turn.
            if ((await jobs.claimPendingItems(jobId, undefined, 1)).length === 0) break;
            this.deps.log.info({ job: jobId, owner: job.owner }, "the job's turn is over: a waiting job runs, then it goes on");
            gaveWay = true;
            await jobs.endTurn(jobId);
            return;
          }
          const items = await jobs.claimPendingItems(jobId, cursor);
          if (items.length === 0) break;
          cursor = items[items.length - 1]!.id;
          if (job.kind === 'ocr') await this.backfill.run(items, report, () => shouldStop() || turnOver());
          else
            await this.pipeline.run(
              { jobId, owner: job.owner, albums: job.albums, kind: job.kind },
              items.map((i) => ({ itemId: i.id, source: i.source, externalId: i.externalId, imageId: i.imageId })),
              report,
              shouldStop,
              turnOver,
            );
        }
        // Before the job is seen to end: whoever waits for it (a test, a bench) then finds OCR and the stages woken.
        ended();
        await jobs.markCompleted(jobId);
        if (job.kind === 'upload') await dropStagedUploads(this.deps.stagingDir, jobId);
        await this.announce('job.completed', job);
      } catch (e) {
        // An outage (of the store, or of PostgreSQL: a restart drops every connection) is not the job's fault: it
        // stays queued (claimed again after a delay), with the reason recorded. Were PostgreSQL still away, that write
        // fails too, and the lease running out frees the job.
        if (e instanceof StoreUnavailable || isDatabaseUnavailable(e)) await this.retryLater(job, e instanceof StoreUnavailable ? e.message : outageReason(e));
        else {
          ended();
          await jobs.markFailed(jobId, (e as Error).message);
          this.deps.log.error({ err: e, job: jobId }, 'ingest job failed');
          await this.announce('job.failed', job, (e as Error).message);
        }
        throw e;
      }
    } finally {
      turn?.end();
      if (gaveWay) this.handover = ended;
      else ended();
      this.running.delete(jobId);
      this.cancelled.delete(jobId);
      await lease.release().catch((e: Error) => this.deps.log.warn({ job: jobId, err: e.message }, 'could not release the job lease'));
    }
  }

  /** A job stopped before its end: a cancelled upload's staged files go; anything else resumes later, here or elsewhere. */
  private async leftOff(job: JobRow): Promise<void> {
    const now = await this.deps.jobs.findJob(job.id);
    if (job.kind === 'upload' && now?.state === 'cancelled') await dropStagedUploads(this.deps.stagingDir, job.id);
  }

  private async announce(type: 'job.completed' | 'job.failed', job: { id: string; owner: string; kind: string }, error?: string): Promise<void> {
    if (job.kind === 'reindex' || job.kind === 'ocr') return;
    const counts = await this.deps.jobs.itemCounts(job.id);
    await this.deps.events
      .emit([{ type, owner: job.owner, data: { jobId: job.id, kind: job.kind, ...counts, ...(error ? { error } : {}) } }])
      .catch((e: Error) => this.deps.log.warn({ err: e.message, job: job.id }, `could not record ${type} event`));
  }

  /** Exponential backoff per job (1 s, 2 s, 4 s ... 5 min), kept in the job's row so any instance honours it. */
  private async retryLater(job: JobRow, error: string): Promise<void> {
    const attempt = job.retries + 1;
    const delay = Math.min(this.deps.jobRetryBaseMs * 2 ** (attempt - 1), MAX_RETRY_MS);
    this.deps.log.warn({ job: job.id, attempt, delayMs: delay, err: error }, 'an outage stopped the ingest job; it will retry');
    await this.deps.jobs.markOutage(job.id, error, delay);
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.wake();
    }, delay + 10);
    timer.unref();
    this.retryTimers.add(timer);
  }

  /** A cancelled job stops after the batch it is writing, here; elsewhere, when its holder next renews the lease. */
  cancel(jobId: string): void {
    if (this.running.has(jobId)) this.cancelled.add(jobId);
  }

  /**
   * Resolves once this process no longer runs the job (a cancelled job finishes the batch it is writing)
   * and no other holder does either, waiting at most REMOTE_SETTLE_MS for another instance: its holder may
   * have crashed, and the cancel is recorded either way.
   */
  async settled(jobId: string): Promise<void> {
    while (this.running.has(jobId)) await sleep(SETTLE_POLL_MS);
    const until = Date.now() + Math.min(REMOTE_SETTLE_MS, this.deps.jobLease.leaseMs);
    while (Date.now() < until && (await this.deps.jobs.isLeased(jobId))) await sleep(SETTLE_POLL_MS);
  }

  /** A job was queued (here or, for the poller, anywhere): look for work now. */
  enqueue(_jobId?: string): void {
    this.wake();
  }

  /** Keeps looking for jobs every JOB_POLL_MS: those queued by other instances and the CLI, and crashed holders' jobs. */
  start(): void {
    this.polling = true;
    this.wake();
  }

  private wake(): void {
    if (this.stopping) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
    this.draining = this.drain()
      .catch((e: Error) => this.deps.log.warn({ err: e.message }, 'looking for ingest jobs failed; the next poll retries'))
      .finally(() => {
        this.draining = null;
        if (this.again) {
          this.again = false;
          this.wake();
        } else if (this.polling && !this.stopping) {
          this.pollTimer = setTimeout(() => this.wake(), this.deps.jobLease.pollMs);
          this.pollTimer.unref();
        }
      });
  }

  /** Runs claimable jobs, owners taking turns, until none is left. */
  private async drain(): Promise<void> {
    const { jobs, jobLease, log } = this.deps;
    try {
      while (!this.stopping) {
        const job = await jobs.claimNextJob(this.holder, jobLease.leaseMs);
        this.waiting = await jobs.countWaitingJobs();
        if (!job) return;
        await this.runLeased(JobLease.held(jobs, job.id, this.holder, jobLease, log), undefined, true).catch((e: Error) => {
          if (!(e instanceof StoreUnavailable || isDatabaseUnavailable(e))) log.warn({ job: job.id, err: e.message }, 'ingest job stopped');
        });
      }
    } finally {
      this.endHandover();
    }
  }

  private endHandover(): void {
    this.handover?.();
    this.handover = null;
  }

  /** Re-queues jobs left unfinished by a crash or restart (they are claimed like any queued job) and keeps polling. */
  async resumeUnfinished(): Promise<string[]> {
    await this.freeDeadLeases();
    const ids = await this.deps.jobs.unfinishedJobIds();
    this.start();
    return ids;
  }

  /**
   * Leases held by processes of this host that are gone (a crash, a kill) are freed at once rather than left to run out:
   * an unfinished job is taken over now, and a cancelled one no longer looks busy to reconcile.
   */
  private async freeDeadLeases(): Promise<void> {
    for (const { id, holder } of await this.deps.jobs.leasedJobs()) {
      if (!isDeadLocalHolder(holder)) continue;
      this.deps.log.info({ job: id, holder }, 'the process that held this job is gone: its lease is freed');
      await this.deps.jobs.releaseLease(id, holder);
    }
  }

  /** Jobs waiting in the shared queue (as of the last look) plus those this process runs. */
  get queueDepth(): number {
    return this.waiting + this.running.size;
  }

  /** Resolves when this worker finds nothing more to run (tests and graceful shutdown). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /** As stop(), until resume(): the jobs stopped are claimed again then (a change of model pack comes between). */
  async pause(): Promise<void> {
    this.pollingBeforePause ||= this.polling;
    await this.stop();
  }

  resume(): void {
    this.stopping = false;
    if (this.pollingBeforePause) this.start();
    else this.wake();
    this.pollingBeforePause = false;
  }

  /** Stops after the batch in progress; unfinished jobs keep their state and are claimed again on next start. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.polling = false;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    await this.draining;
    while (this.running.size > 0) await sleep(SETTLE_POLL_MS);
  }
}
