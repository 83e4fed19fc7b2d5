import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../src/db/prisma';
import type { Logger } from '../src/util/logger';
import { resolveIngestFolder, walkImages } from './folderSource';
import { IngestPipeline, StoreUnavailable, type JobProgress, type PipelineDeps } from './pipeline';
import { parseFetchableUrl } from './urlFetch';

export interface UploadedFile {
  name: string;
  data: Buffer;
}

export interface JobStatus extends JobProgress {
  id: string;
  owner: string;
  kind: string;
  state: string;
  albums: string[];
  error: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** The latest item errors, for a person to read. */
  errors: { source: string; error: string }[];
}

export interface IngestServiceDeps extends PipelineDeps {
  ingestRoots: string[];
  stagingDir: string;
  jobRetryBaseMs: number;
  /** Every job's progress, e.g. for metrics. */
  onProgress?: (delta: Partial<JobProgress>) => void;
}

const ITEM_PAGE = 500;

function sanitizeName(name: string): string {
  const base = path.basename(name).replace(/[^\p{L}\p{N}._-]+/gu, '_').slice(-120);
  return base || 'upload';
}

/**
 * Ingest jobs: created by the CLI or the admin API, recorded in Postgres item by item, and run
 * one at a time by a background worker (the encoder is the bottleneck; one job saturates it).
 * Unfinished jobs are picked up again on start, which is what makes ingest resumable.
 */
export class IngestService {
  private readonly pipeline: IngestPipeline;
  private readonly queue: string[] = [];
  private current: Promise<void> | null = null;
  private stopping = false;
  private readonly retries = new Map<string, { attempt: number; timer: NodeJS.Timeout }>();

  constructor(private readonly deps: IngestServiceDeps) {
    this.pipeline = new IngestPipeline(deps);
  }

  private get db(): Db {
    return this.deps.db;
  }

  private get log(): Logger {
    return this.deps.log;
  }

  async createFolderJob(owner: string, folder: string, albums: string[] = []): Promise<string> {
    const dir = await resolveIngestFolder(folder, this.deps.ingestRoots);
    const job = await this.db.ingestJob.create({ data: { owner, kind: 'folder', albums } });
    const sources: string[] = [];
    for await (const file of walkImages(dir)) sources.push(file);
    await this.addItems(job.id, sources);
    return job.id;
  }

  async createUrlJob(owner: string, urls: string[], albums: string[] = []): Promise<string> {
    // Scheme and syntax are checked now so a bad request fails as a whole; addresses are checked at fetch time.
    const checked = urls.map((u) => parseFetchableUrl(u).toString());
    const job = await this.db.ingestJob.create({ data: { owner, kind: 'url', albums } });
    await this.addItems(job.id, [...new Set(checked)]);
    return job.id;
  }

  async createUploadJob(owner: string, files: UploadedFile[], albums: string[] = []): Promise<string> {
    const job = await this.db.ingestJob.create({ data: { owner, kind: 'upload', albums } });
    const dir = path.join(this.deps.stagingDir, job.id);
    await mkdir(dir, { recursive: true });
    const sources: string[] = [];
    for (const [i, f] of files.entries()) {
      const file = path.join(dir, `${i}-${sanitizeName(f.name)}`);
      await writeFile(file, f.data);
      sources.push(file);
    }
    await this.addItems(job.id, sources);
    return job.id;
  }

  /**
   * Queues for re-embedding every image whose vector was made by another model pack or is not
   * known to be stored (modelPack null), skipping images an unfinished job already covers.
   */
  async createReindexJob(): Promise<string | null> {
    const key = this.deps.pack.key;
    const stale = await this.db.image.findMany({
      where: {
        OR: [{ modelPack: { not: key } }, { modelPack: null }],
        state: { not: 'failed' },
      },
      select: { id: true, sha256: true },
    });
    const active = new Set(
      (await this.db.ingestItem.findMany({ where: { state: 'pending', imageId: { not: null }, job: { state: { in: ['queued', 'running'] } } }, select: { imageId: true } })).map((i) => i.imageId),
    );
    stale.splice(0, stale.length, ...stale.filter((s) => !active.has(s.id)));
    if (stale.length === 0) return null;
    const job = await this.db.ingestJob.create({ data: { owner: '*', kind: 'reindex' } });
    for (let i = 0; i < stale.length; i += ITEM_PAGE) {
      await this.db.ingestItem.createMany({
        data: stale.slice(i, i + ITEM_PAGE).map((s) => ({ jobId: job.id, source: s.sha256, imageId: s.id })),
        skipDuplicates: true,
      });
    }
    await this.db.ingestJob.update({ where: { id: job.id }, data: { total: stale.length } });
    return job.id;
  }

  private async addItems(jobId: string, sources: string[]): Promise<void> {
    for (let i = 0; i < sources.length; i += ITEM_PAGE) {
      await this.db.ingestItem.createMany({ data: sources.slice(i, i + ITEM_PAGE).map((source) => ({ jobId, source })), skipDuplicates: true });
    }
    await this.db.ingestJob.update({ where: { id: jobId }, data: { total: sources.length } });
  }

  async status(jobId: string, owner?: string): Promise<JobStatus | null> {
    const job = await this.db.ingestJob.findUnique({ where: { id: jobId } });
    if (!job || (owner !== undefined && job.owner !== owner)) return null;
    const counts = await this.db.ingestItem.groupBy({ by: ['state'], where: { jobId }, _count: { _all: true } });
    const n = (s: string) => counts.find((c) => c.state === s)?._count._all ?? 0;
    const errors = await this.db.ingestItem.findMany({
      where: { jobId, error: { not: null } },
      select: { source: true, error: true },
      orderBy: { updatedAt: 'desc' },
      take: 20,
    });
    return {
      id: job.id,
      owner: job.owner,
      kind: job.kind,
      state: job.state,
      albums: job.albums,
      error: job.error,
      createdAt: job.createdAt,
      startedAt: job.startedAt,
      finishedAt: job.finishedAt,
      total: job.total,
      done: n('done'),
      skipped: n('skipped'),
      failed: n('failed'),
      pending: n('pending'),
      errors: errors.map((e) => ({ source: job.kind === 'upload' ? path.basename(e.source) : e.source, error: e.error ?? '' })),
    };
  }

  /** Runs a job to its end in the caller's context (the CLI), reporting progress per item. */
  async runJob(jobId: string, onProgress?: (delta: Partial<JobProgress>) => void): Promise<void> {
    const job = await this.db.ingestJob.findUniqueOrThrow({ where: { id: jobId } });
    await this.db.ingestJob.update({ where: { id: jobId }, data: { state: 'running', startedAt: job.startedAt ?? new Date(), error: null } });
    const ctx = { jobId, owner: job.owner, albums: job.albums, kind: job.kind };
    try {
      let cursor: string | undefined;
      for (;;) {
        if (this.stopping) return; // stays 'running': resumed on the next start
        const items = await this.db.ingestItem.findMany({
          where: { jobId, state: 'pending' },
          orderBy: { id: 'asc' },
          take: ITEM_PAGE,
          ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}),
          select: { id: true, source: true, imageId: true },
        });
        if (items.length === 0) break;
        cursor = items[items.length - 1]!.id;
        const report = (d: Partial<JobProgress>) => {
          onProgress?.(d);
          this.deps.onProgress?.(d);
        };
        await this.pipeline.run(ctx, items.map((i) => ({ itemId: i.id, source: i.source, imageId: i.imageId })), report, () => this.stopping);
      }
      await this.db.ingestJob.update({ where: { id: jobId }, data: { state: 'completed', finishedAt: new Date() } });
      if (job.kind === 'upload') await rm(path.join(this.deps.stagingDir, jobId), { recursive: true, force: true });
    } catch (e) {
      const error = (e as Error).message;
      // An outage is not the job's fault: it stays queued (resumed on retry or restart), with the reason recorded.
      const outage = e instanceof StoreUnavailable;
      await this.db.ingestJob.update({ where: { id: jobId }, data: { state: outage ? 'queued' : 'failed', error, finishedAt: outage ? null : new Date() } });
      if (!outage) this.log.error({ err: e, job: jobId }, 'ingest job failed');
      throw e;
    }
  }

  /** Background worker: queue a job; it runs after those before it. */
  enqueue(jobId: string): void {
    this.queue.push(jobId);
    this.kick();
  }

  private kick(): void {
    if (this.current || this.stopping) return;
    const next = this.queue.shift();
    if (!next) return;
    this.current = this.runJob(next)
      .then(() => {
        this.retries.delete(next);
      })
      .catch((e: Error) => {
        if (e instanceof StoreUnavailable) this.retryLater(next);
        else this.log.warn({ job: next, err: e.message }, 'ingest job stopped');
      })
      .finally(() => {
        this.current = null;
        this.kick();
      });
  }

  /** Exponential backoff per job (1 s, 2 s, 4 s ... 5 min) while the vector store is down. */
  private retryLater(jobId: string): void {
    const attempt = (this.retries.get(jobId)?.attempt ?? 0) + 1;
    const delay = Math.min(this.deps.jobRetryBaseMs * 2 ** (attempt - 1), 300_000);
    this.log.warn({ job: jobId, attempt, delayMs: delay }, 'vector store unavailable; ingest job will retry');
    const timer = setTimeout(() => this.enqueue(jobId), delay);
    timer.unref();
    this.retries.set(jobId, { attempt, timer });
  }

  /** Re-queues jobs left unfinished by a crash or restart, then any re-indexing the model pack needs. */
  async resumeUnfinished(): Promise<string[]> {
    const jobs = await this.db.ingestJob.findMany({ where: { state: { in: ['queued', 'running'] } }, orderBy: { createdAt: 'asc' }, select: { id: true } });
    for (const j of jobs) this.enqueue(j.id);
    const reindex = await this.createReindexJob();
    if (reindex) this.enqueue(reindex);
    return [...jobs.map((j) => j.id), ...(reindex ? [reindex] : [])];
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
