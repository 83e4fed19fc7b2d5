import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { ImageRepository, IngestRepository, JobKind, JobRow, NewItem, NewJob, StageCounts } from '../src/db/repositories';
import { AppError } from '../src/errors/appError';
import { JobWorker, type WorkerDeps } from './jobWorker';
import type { JobProgress } from './pipeline';
import { relativeName, walkImages } from './sources/folderSource';
import type { FolderAccess, FolderReader } from './sources/folderAccess';
import { dropStagedUploads, stageUploads, sweepUploadSpool, uploadSpool, type UploadedFile } from './sources/uploadStaging';
import { parseFetchableUrl } from '../src/net/addressGuard';

export type { UploadedFile } from './sources/uploadStaging';

export interface JobStatus extends JobProgress {
  id: string;
  owner: string;
  kind: string;
  state: string;
  /** Unfinished, and no worker runs it now: queued behind other jobs, between its turns, or waiting out an outage. */
  waiting: boolean;
  albums: string[];
  error: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** The latest item errors, for a person to read. */
  errors: { source: string; error: string }[];
  /** Text reading of the images this job wrote (OCR runs beside the vector path). */
  ocr: StageCounts;
  /** The background image stages over this job's images (duplicates, autoTags, captions...). */
  stages: Record<string, StageCounts>;
}

export interface CreateOptions {
  /** Each file's path inside the folder (with "/") is its external id. */
  externalIdsFromPaths?: boolean | undefined;
  /** The caller runs the job at once (runJob, the CLI): it is created leased to this process, so no other instance takes it first. */
  runHere?: boolean | undefined;
}

export interface UrlItem {
  url: string;
  externalId?: string | undefined;
}

/** Two items of one request naming the same photo cannot both be it. */
function refuseRepeatedExternalIds(items: readonly { externalId?: string | undefined }[]): void {
  const seen = new Set<string>();
  for (const { externalId } of items) {
    if (externalId === undefined) continue;
    if (seen.has(externalId)) throw new AppError('validation_error', `externalId "${externalId}" is given twice`);
    seen.add(externalId);
  }
}

export interface IngestServiceDeps extends WorkerDeps {
  imageRows: ImageRepository;
  /** Each background stage's progress over a job's images. */
  stageCounts: (jobId: string) => Promise<Record<string, StageCounts>>;
  jobs: IngestRepository;
  folders: FolderAccess;
}

/**
 * Ingest jobs from folders, uploads and URLs (created by the CLI or the admin API), their status,
 * and re-indexing when the model pack changes. Jobs are recorded item by item before they run,
 * and the worker runs them in the background.
 */
export class IngestService {
  private readonly worker: JobWorker;

  constructor(private readonly deps: IngestServiceDeps) {
    this.worker = new JobWorker(deps);
  }

  /**
   * Starts the decode processes now rather than on the first image: spawning one from a process that
   * holds a model pack took 60-90 ms of the main thread here (fork copies its page tables), which the
   * first ingest's searches waited out.
   */
  warm(): void {
    this.deps.decoder.warm();
  }

  /**
   * An operator's folder job: any folder under INGEST_ROOTS, for any owner. With `externalIdsFromPaths`,
   * each file's path inside the folder (with "/") is its external id.
   */
  createFolderJob(owner: string, folder: string, albums: string[] = [], options: CreateOptions = {}): Promise<string> {
    return this.folderJob({ owner, operator: true }, folder, albums, options);
  }

  /** An owner's key ingesting its own folder (INGEST_TENANT_ROOT/<owner>); see FolderAccess. */
  createOwnFolderJob(owner: string, folder: string, albums: string[] = [], options: CreateOptions = {}): Promise<string> {
    return this.folderJob({ owner, operator: false }, folder, albums, options);
  }

  private async folderJob(reader: FolderReader, folder: string, albums: string[], options: CreateOptions): Promise<string> {
    const { owner } = reader;
    const dir = await this.deps.folders.resolve(folder, reader);
    const sources: NewItem[] = [];
    for await (const file of walkImages(dir)) sources.push({ source: file, ...(options.externalIdsFromPaths ? { externalId: relativeName(dir, file) } : {}) });
    return this.deps.jobs.createJob(this.newJob(owner, 'folder', albums, options), sources);
  }

  /** A folder job over given files (a watched folder's new and changed files). */
  async createFileJob(owner: string, files: readonly { path: string; externalId: string }[], albums: string[] = []): Promise<string> {
    return this.deps.jobs.createJob(
      this.newJob(owner, 'folder', albums),
      files.map((f) => ({ source: f.path, externalId: f.externalId })),
    );
  }

  async createUrlJob(owner: string, urls: readonly (string | UrlItem)[], albums: string[] = []): Promise<string> {
    // Scheme and syntax are checked now so a bad request fails as a whole; addresses are checked at fetch time.
    const checked = urls
      .map((u) => (typeof u === 'string' ? { url: u } : u))
      .map((u) => ({ source: parseFetchableUrl(u.url).toString(), externalId: u.externalId }));
    refuseRepeatedExternalIds(checked);
    // A URL listed twice is fetched once (the first listing's external id wins).
    const seen = new Set<string>();
    const items = checked.filter((i) => !seen.has(i.source) && seen.add(i.source));
    return this.deps.jobs.createJob(this.newJob(owner, 'url', albums), items);
  }

  /** Where the API spools ingest uploads as they arrive (createUploadJob moves them into the job's folder). */
  get uploadSpool(): string {
    return uploadSpool(this.deps.stagingDir);
  }

  async createUploadJob(owner: string, files: UploadedFile[], albums: string[] = []): Promise<string> {
    refuseRepeatedExternalIds(files);
    // The files are staged under the job's id before the job is recorded with them.
    const jobId = randomUUID();
    try {
      const sources = await stageUploads(this.deps.stagingDir, jobId, files);
      return await this.deps.jobs.createJob(
        { ...this.newJob(owner, 'upload', albums), id: jobId },
        sources.map(({ source, index }) => ({ source, externalId: files[index]!.externalId })),
      );
    } catch (e) {
      await dropStagedUploads(this.deps.stagingDir, jobId);
      throw e;
    }
  }

  /**
   * Queues for re-embedding every image whose vector was made by another model pack or is not
   * known to be stored (modelPack null), skipping images an unfinished job already covers.
   */
  async createReindexJob(): Promise<string | null> {
    const stale = await this.deps.imageRows.staleForPack(this.deps.model.current.pack.key);
    const active = await this.deps.jobs.imagesAwaitingJobs();
    const todo = stale.filter((s) => !active.has(s.id));
    if (todo.length === 0) return null;
    return this.deps.jobs.createJob(
      this.newJob('*', 'reindex'),
      todo.map((s) => ({ source: s.id, imageId: s.id })),
    );
  }

  /** After a change of model pack: queues (and starts) re-embedding what the pack in use has not embedded. */
  async reindexForPack(): Promise<string | null> {
    const jobId = await this.createReindexJob();
    if (jobId) this.enqueue(jobId);
    return jobId;
  }

  /** Queues OCR over an owner's (or every) image it has not read; null when there is none. */
  async createOcrBackfillJob(owner: string | undefined, options: CreateOptions = {}): Promise<string | null> {
    const todo = await this.deps.ocrRows.awaitingOcr(owner);
    if (todo.length === 0) return null;
    return this.deps.jobs.createJob(
      this.newJob(owner ?? '*', 'ocr', [], options),
      todo.map((i) => ({ source: i.id, imageId: i.id })),
    );
  }

  private newJob(owner: string, kind: JobKind, albums: string[] = [], options: CreateOptions = {}): NewJob {
    return { owner, kind, albums, ...(options.runHere ? { lease: { holder: this.worker.holder, leaseMs: this.deps.jobLease.leaseMs } } : {}) };
  }

  async status(jobId: string, owner?: string): Promise<JobStatus | null> {
    const job = await this.deps.jobs.findJob(jobId);
    if (!job || (owner !== undefined && job.owner !== owner)) return null;
    const [counts, errors, ocr, stages] = await Promise.all([
      this.deps.jobs.itemCounts(jobId),
      this.deps.jobs.recentErrors(jobId, 20),
      this.deps.ocrRows.jobCounts(jobId),
      this.deps.stageCounts(jobId),
    ]);
    return {
      id: job.id,
      owner: job.owner,
      kind: job.kind,
      state: job.state,
      waiting: (job.state === 'queued' || job.state === 'running') && !(job.leaseOwner && job.leaseUntil && job.leaseUntil.getTime() >= Date.now()),
      albums: job.albums,
      error: job.error,
      createdAt: job.createdAt,
      startedAt: job.startedAt,
      finishedAt: job.finishedAt,
      total: job.total,
      ...counts,
      errors: errors.map((e) => ({ source: job.kind === 'upload' ? path.basename(e.source) : e.source, error: e.error })),
      ocr,
      stages,
    };
  }

  /** Newest first; an owner's jobs or everyone's (the operator), optionally in one state. */
  async list(
    filter: { owner?: string | undefined; state?: JobRow['state'] | undefined },
    page: { offset: number; limit: number },
  ): Promise<{ jobs: JobStatus[]; nextOffset: number | null }> {
    const rows = await this.deps.jobs.listJobs(filter, page.offset, page.limit + 1);
    const jobs = (await Promise.all(rows.slice(0, page.limit).map((r) => this.status(r.id)))).filter((s): s is JobStatus => s !== null);
    return { jobs, nextOffset: rows.length > page.limit ? page.offset + page.limit : null };
  }

  /**
   * Cancels a queued or running job: it is not resumed, and a running one stops after the batch it is
   * writing (what was indexed stays indexed). A finished job is a 409.
   */
  async cancel(jobId: string, owner: string | undefined): Promise<JobStatus> {
    const cancelled = await this.deps.jobs.cancel(jobId, owner);
    if (!cancelled) {
      const job = await this.status(jobId, owner);
      if (!job) throw new AppError('not_found', `job ${jobId} not found`);
      if (job.state !== 'cancelled') throw new AppError('job_finished', `job ${jobId} has already ${job.state}`);
      return job;
    }
    this.worker.cancel(jobId);
    // A job the worker runs stops after the batch it is writing; the answer then shows where it stopped.
    await this.worker.settled(jobId);
    if (cancelled.kind === 'upload') await dropStagedUploads(this.deps.stagingDir, jobId);
    return (await this.status(jobId))!;
  }

  /**
   * Runs a failed job again (after what failed it was mended: a model, a disk): its pending items are read again, its
   * uploads were kept for this. Anything but a failed job is a 409.
   */
  async retry(jobId: string, owner: string | undefined): Promise<JobStatus> {
    if (!(await this.deps.jobs.requeueFailed(jobId, owner))) {
      const job = await this.status(jobId, owner);
      if (!job) throw new AppError('not_found', `job ${jobId} not found`);
      throw new AppError('job_not_failed', `job ${jobId} is ${job.state}, not failed`);
    }
    this.worker.enqueue(jobId);
    return (await this.status(jobId))!;
  }

  /** Cancels an owner's unfinished jobs, waits for the worker to let go of them, then deletes all of its jobs. */
  async purgeOwner(owner: string): Promise<number> {
    const jobs = await this.deps.jobs.jobsOfOwner(owner);
    for (const job of jobs) {
      // A job that finished meanwhile is a 409 for cancel(), and simply deleted here.
      if (job.state !== 'queued' && job.state !== 'running') continue;
      try {
        await this.cancel(job.id, owner);
      } catch (e) {
        if (!(e instanceof AppError && e.status === 409)) throw e;
      }
    }
    await this.deps.jobs.deleteJobs(jobs.map((j) => j.id));
    await Promise.all(jobs.filter((j) => j.kind === 'upload').map((j) => dropStagedUploads(this.deps.stagingDir, j.id)));
    return jobs.length;
  }

  runJob(jobId: string, onProgress?: (delta: Partial<JobProgress>) => void): Promise<void> {
    return this.worker.runJob(jobId, onProgress);
  }

  enqueue(jobId: string): void {
    this.worker.enqueue(jobId);
  }

  /** Re-queues jobs left unfinished by a crash or restart, then any re-indexing the model pack needs. */
  async resumeUnfinished(): Promise<string[]> {
    await sweepUploadSpool(this.deps.stagingDir);
    const resumed = await this.worker.resumeUnfinished();
    const reindex = await this.createReindexJob();
    if (reindex) this.worker.enqueue(reindex);
    return [...resumed, ...(reindex ? [reindex] : [])];
  }

  get queueDepth(): number {
    return this.worker.queueDepth;
  }

  idle(): Promise<void> {
    return this.worker.idle();
  }

  /** Stops after the batch being written, until resume(); jobs stay resumable. */
  pause(): Promise<void> {
    return this.worker.pause();
  }

  resume(): void {
    this.worker.resume();
  }

  stop(): Promise<void> {
    return this.worker.stop();
  }
}
