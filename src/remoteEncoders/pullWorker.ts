import type { ModelPack } from '../models/modelPack';
import type { Logger } from '../util/logger';
import { floatsToBuffer, tensorsFromBuffer } from './protocol';
import { ServiceRefusal, type ServiceLink } from './serviceLink';

export interface PullWorkerSettings {
  /** Wait after an empty lease or a failed request before asking again. */
  idleMs: number;
}

/**
 * The worker side of pull encoding: leases ingest batches from a service (SERVICE_URL, a key with
 * scope worker), encodes them with this machine's pack and answers. It needs no address of its own,
 * so a desktop behind NAT helps whenever it is awake; a batch it leaves unanswered (asleep, killed)
 * goes back to the queue when its lease expires.
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
        if (!(await this.once())) await this.idle();
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

  private idle(): Promise<void> {
    return new Promise((r) => setTimeout(r, this.settings.idleMs));
  }
}
