import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ModelPack } from '../models/modelPack';
import type { MadeCaption } from '../search/captions';
import type { Logger } from '../util/logger';
import { floatsToBuffer, tensorsFromBuffer } from './protocol';
import { ServiceRefusal, type ServiceLink } from './serviceLink';

export interface PullWorkerSettings {
  /** Wait after an empty lease or a failed request before asking again. */
  idleMs: number;
}

/** A captioner pack on the worker's machine: it captions the service's images when the service runs the same one. */
export interface WorkerCaptioner {
  readonly model: string;
  describe(file: string): Promise<MadeCaption>;
}

/**
 * The worker side of pull encoding: leases ingest batches from a service (SERVICE_URL, a key with
 * scope worker), encodes them with this machine's pack and answers. It needs no address of its own,
 * so a desktop behind NAT helps whenever it is awake; a batch it leaves unanswered (asleep, killed)
 * goes back to the queue when its lease expires. With a captioner pack it also captions the service's
 * images whenever no batch waits (ingest first: captions can follow).
 */
export class PullWorker {
  private stopped = false;
  private loop: Promise<void> | null = null;
  answered = 0;

  constructor(
    private readonly service: ServiceLink,
    private readonly pack: Pick<ModelPack, 'key' | 'image'>,
    private readonly settings: PullWorkerSettings,
    private readonly log: Logger,
    private captioner: WorkerCaptioner | null = null,
  ) {}

  /** Resolves when stopped, or rejects when the service refuses this worker's pack. */
  start(): Promise<void> {
    this.stopped = false;
    this.loop = this.work();
    return this.loop;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop?.catch(() => undefined);
  }

  private async work(): Promise<void> {
    while (!this.stopped) {
      try {
        if (!(await this.once()) && !(await this.captionOnce())) await this.idle();
      } catch (e) {
        if (e instanceof ServiceRefusal && e.code === 'pack_mismatch') throw e;
        this.log.warn({ err: (e as Error).message }, 'pull worker: request failed; trying again');
        await this.idle();
      }
    }
  }

  /** One lease, encoded and answered; false when nothing was waiting. */
  private async once(): Promise<boolean> {
    const { lease } = await this.service.lease(this.pack.key);
    if (!lease) return false;
    const size = this.pack.image.preprocessing.size;
    if (lease.size !== size) throw new Error(`batch ${lease.id} holds ${lease.size} px tensors; this pack takes ${size} px`);
    const tensors = tensorsFromBuffer(Buffer.from(lease.tensors, 'base64'), lease.count, size);
    const vectors = await this.pack.image.encode(tensors, 'background');
    try {
      await this.service.answer(lease.id, { pack: this.pack.key, embeddings: floatsToBuffer(vectors).toString('base64') });
      this.answered++;
      this.log.info({ batch: lease.id, images: lease.count }, 'pull worker: answered batch');
    } catch (e) {
      if (!(e instanceof ServiceRefusal && e.code === 'lease_gone')) throw e;
      this.log.info({ batch: lease.id }, 'pull worker: batch was answered elsewhere meanwhile');
    }
    return true;
  }

  /** One image leased, captioned (or its failure said) and answered; false when none was waiting. */
  private async captionOnce(): Promise<boolean> {
    const captioner = this.captioner;
    if (!captioner) return false;
    let task;
    try {
      ({ task } = await this.service.leaseCaption(captioner.model));
    } catch (e) {
      if (!(e instanceof ServiceRefusal && e.code === 'captioner_mismatch')) throw e;
      // Encoding goes on; only the captions are the service's to make.
      this.log.warn({ captioner: captioner.model, reason: e.message }, 'pull worker: the service does not take this captioner’s captions');
      this.captioner = null;
      return false;
    }
    if (!task) return false;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'caption-'));
    try {
      const file = path.join(dir, 'preview.jpg');
      await writeFile(file, Buffer.from(task.preview, 'base64'));
      const answer = await captioner.describe(file).then(
        (made) => ({ captioner: captioner.model, text: made.text, original: made.original ?? null }),
        (e: Error) => ({ captioner: captioner.model, error: e.message.slice(0, 500) || 'caption failed' }),
      );
      await this.service.answerCaption(task.imageId, answer);
      this.log.info({ image: task.imageId, caption: 'text' in answer ? answer.text : null }, 'pull worker: answered caption');
    } catch (e) {
      if (!(e instanceof ServiceRefusal && e.code === 'lease_gone')) throw e;
      this.log.info({ image: task.imageId }, 'pull worker: image was captioned elsewhere meanwhile');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return true;
  }

  private idle(): Promise<void> {
    return new Promise((r) => setTimeout(r, this.settings.idleMs));
  }
}
