import PgBoss from 'pg-boss';
import { AppError } from '../errors/appError';
import type { Logger } from '../util/logger';

const QUEUE = 'encode-images';

/** An answer that does not fit its batch. */
export class BatchMismatch extends AppError {
  constructor(message: string) {
    super('batch_mismatch', message);
  }
}

export interface PullQueueSettings {
  databaseUrl: string;
  /** A lease not answered within this is returned to the queue (and its late answer is refused once redone). */
  leaseSeconds: number;
  /** How often expired leases are looked for (pg-boss maintenance). */
  maintenanceSeconds: number;
  /** Leases of one batch before it fails; each retry waits longer (pg-boss backoff). */
  retryLimit: number;
}

/** One batch of image tensors waiting for an encoder, as stored in the queue. */
interface BatchData {
  pack: string;
  count: number;
  size: number;
  /** float32 CHW tensors back to back, base64. */
  tensors: string;
}

export interface Lease {
  id: string;
  pack: string;
  count: number;
  size: number;
  tensors: Buffer;
  expiresInSeconds: number;
}

export type BatchOutcome = { state: 'pending' } | { state: 'done'; embeddings: Buffer } | { state: 'failed'; error: string };

/**
 * Ingest's image batches as jobs in PostgreSQL (pg-boss): an encoder anywhere leases one, and a lease
 * it does not answer in time goes back to the queue; the first answer completes the batch and later
 * ones are refused. Several service processes on one database share the queue, and the service's own
 * encoder works it too, so ingest needs no worker to be awake.
 */
export class PullQueue {
  private constructor(
    private readonly boss: PgBoss,
    private readonly settings: PullQueueSettings,
  ) {}

  static async open(settings: PullQueueSettings, log: Logger): Promise<PullQueue> {
    const boss = new PgBoss({ connectionString: settings.databaseUrl, maintenanceIntervalSeconds: settings.maintenanceSeconds, max: 4 });
    boss.on('error', (e: Error) => log.warn({ err: e.message }, 'pull queue error'));
    await boss.start();
    await boss.createQueue(QUEUE, {
      name: QUEUE,
      expireInSeconds: settings.leaseSeconds,
      retryLimit: settings.retryLimit,
      retryDelay: 1,
      retryBackoff: true,
    });
    return new PullQueue(boss, settings);
  }

  async submit(pack: string, size: number, tensors: Buffer, count: number): Promise<string> {
    const data: BatchData = { pack, count, size, tensors: tensors.toString('base64') };
    const id = await this.boss.send(QUEUE, data, { expireInSeconds: this.settings.leaseSeconds });
    if (!id) throw new Error('the pull queue did not accept the batch');
    return id;
  }

  async outcome(id: string): Promise<BatchOutcome> {
    const job = await this.boss.getJobById<BatchData>(QUEUE, id);
    if (!job) return { state: 'failed', error: `batch ${id} is no longer queued` };
    if (job.state === 'completed') return { state: 'done', embeddings: Buffer.from((job.output as { embeddings: string }).embeddings, 'base64') };
    if (job.state === 'failed' || job.state === 'cancelled') return { state: 'failed', error: JSON.stringify(job.output) };
    return { state: 'pending' };
  }

  /** The next batch, leased until it expires; null when none waits. */
  async lease(): Promise<Lease | null> {
    const [job] = await this.boss.fetch<BatchData>(QUEUE, { batchSize: 1 });
    if (!job) return null;
    const { pack, count, size, tensors } = job.data;
    // pg-boss reads expireInSeconds back as a string.
    return { id: job.id, pack, count, size, tensors: Buffer.from(tensors, 'base64'), expiresInSeconds: Number(job.expireInSeconds) };
  }

  /**
   * True when this answer completed the batch; false when it was already answered or its lease was
   * given to another. An answer with the wrong number of embeddings is refused before anything is stored.
   */
  async complete(id: string, embeddings: Buffer, dim: number): Promise<boolean> {
    const job = await this.boss.getJobById<BatchData>(QUEUE, id);
    if (!job || job.state !== 'active') return false;
    if (embeddings.length !== job.data.count * dim * 4) {
      throw new BatchMismatch(`batch ${id} holds ${job.data.count} images; the answer has ${embeddings.length / 4 / dim} embeddings of ${dim}`);
    }
    const res = (await this.boss.complete(QUEUE, id, { embeddings: embeddings.toString('base64') })) as unknown as { affected: number };
    return res.affected === 1;
  }

  /** Drops a finished batch: its tensors would otherwise stay in PostgreSQL until pg-boss archives them (hours). */
  async forget(id: string): Promise<void> {
    await this.boss.deleteJob(QUEUE, id);
  }

  /** Gives a leased batch back (an encoder that cannot do it), counted as one failed try. */
  async release(id: string, error: string): Promise<void> {
    await this.boss.fail(QUEUE, id, { error });
  }

  async close(): Promise<void> {
    await this.boss.stop({ graceful: false, wait: true });
  }
}
