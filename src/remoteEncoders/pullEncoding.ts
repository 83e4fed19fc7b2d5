import { AppError } from '../errors/appError';
import type { ImageEncoder } from '../models/encoders';
import type { ModelPack } from '../models/modelPack';
import type { Logger } from '../util/logger';
import { bufferToFloats, floatsToBuffer, tensorsFromBuffer } from './protocol';
import type { Lease, PullQueue } from './pullQueue';

export interface PullEncodingSettings {
  /** How often a waiting batch's outcome, and an empty queue, are looked at. */
  pollMs: number;
}

/**
 * Ingest through the pull queue: each image batch is queued, and whichever encoder leases it first
 * (a worker somewhere, or this service's own encoder, which works the queue whenever it has nothing
 * else) answers it. Queries never queue: they encode here at once.
 */
export class PullEncoding {
  private stopped = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;

  /** `local`: the pack this service indexes with (serve() replaces it when the pack changes). */
  constructor(
    private readonly queue: PullQueue,
    private local: Pick<ModelPack, 'key' | 'image'>,
    private readonly settings: PullEncodingSettings,
    private readonly log: Logger,
  ) {}

  /** The image encoder ingest uses: its batches go through the queue, queries' images are encoded here at once. */
  get image(): ImageEncoder {
    const local = this.local;
    return {
      dim: local.image.dim,
      preprocessing: local.image.preprocessing,
      encode: (images, priority = 'interactive') =>
        priority === 'interactive' ? local.image.encode(images, priority) : this.throughQueue(images.map((t) => t.data)),
    };
  }

  /**
   * The pack ingest's batches are queued for from now on (workers of another pack are refused). Called
   * while ingest is paused for the change, so no batch of the previous pack is waiting.
   */
  serve(local: Pick<ModelPack, 'key' | 'image'>): void {
    this.local = local;
  }

  private async throughQueue(tensors: Float32Array[]): Promise<Float32Array[]> {
    const id = await this.queue.submit(this.local.key, this.local.image.preprocessing.size, floatsToBuffer(tensors), tensors.length);
    this.wakeUp?.();
    for (;;) {
      const outcome = await this.queue.outcome(id);
      if (outcome.state !== 'pending')
        await this.queue.forget(id).catch((e: Error) => this.log.warn({ batch: id, err: e.message }, 'could not drop a finished batch'));
      if (outcome.state === 'done') return bufferToFloats(outcome.embeddings, tensors.length);
      if (outcome.state === 'failed') throw new Error(`image batch ${id} failed in the pull queue: ${outcome.error}`);
      await new Promise((r) => setTimeout(r, this.settings.pollMs));
    }
  }

  /** This service's own encoder takes queued batches whenever none waits for it elsewhere. */
  start(): void {
    this.stopped = false;
    this.loop = this.work();
  }

  /** Stops working the queue and closes it (the queue is this object's from construction on). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeUp?.();
    await this.loop;
    await this.queue.close();
  }

  private async work(): Promise<void> {
    while (!this.stopped) {
      const lease = await this.queue.lease().catch((e: Error) => {
        this.log.warn({ err: e.message }, 'could not lease from the pull queue');
        return null;
      });
      if (!lease) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.settings.pollMs);
          this.wakeUp = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wakeUp = null;
        continue;
      }
      try {
        const tensors = this.tensorsOf(lease, this.local.key);
        const vectors = await this.local.image.encode(tensors, 'background');
        await this.queue.complete(lease.id, floatsToBuffer(vectors), this.local.image.dim);
      } catch (e) {
        await this.queue.release(lease.id, (e as Error).message).catch(() => undefined);
      }
    }
  }

  private tensorsOf(lease: Lease, pack: string) {
    if (lease.pack !== pack) throw new Error(`batch ${lease.id} was queued for ${lease.pack}, this encoder serves ${pack}`);
    return tensorsFromBuffer(lease.tensors, lease.count, lease.size);
  }

  /** A worker's lease: refused when the worker serves another pack than the one the batch is for. */
  async lease(workerPack: string): Promise<Lease | null> {
    if (workerPack !== this.local.key) {
      throw new AppError('pack_mismatch', `this worker serves ${workerPack}; this service indexes with ${this.local.key}: refused`);
    }
    return this.queue.lease();
  }

  /** A worker's answer; accepted once (false: the batch was answered already or its lease was given to another). */
  async answer(leaseId: string, workerPack: string, embeddings: Buffer): Promise<boolean> {
    if (workerPack !== this.local.key) throw new AppError('pack_mismatch', `answer from ${workerPack}; this service indexes with ${this.local.key}: refused`);
    return this.queue.complete(leaseId, embeddings, this.local.image.dim);
  }
}
