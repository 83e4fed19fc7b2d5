import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { PendingCalls, startWorker } from '../util/workerThread';
import type { ImagePreprocessing } from '../models/preprocess';
import { ImageRejected, type DecodedImage, type DecodeLimits } from './decode';
import type { DecodeReply, DecodeRequest } from './decodeWorker';

const WORKER_ENTRY = path.join(__dirname, `decodeWorker${path.extname(__filename)}`);

/**
 * Worker threads that decode ingest's images. On the main thread the Pillow-exact resize (JavaScript,
 * 25-50 ms a photo) and the copies of full-size pixels held every request behind them, up to ~300 ms
 * while a few decodes finished together; here only the file goes in and small results come back.
 * Work goes to the worker with the fewest images in hand.
 */
export class DecodePool {
  private workers: { worker: Worker; inFlight: number }[] = [];
  private readonly pending = new PendingCalls<DecodedImage | Buffer>();
  /** Why decoding stopped: closed, or a worker died (its images would otherwise wait for ever). */
  private stopped: Error | null = null;

  constructor(
    private readonly threads: number,
    private readonly nice: number | null,
  ) {}

  /** Started on the first image: a process that never ingests (a CLI, a service that only searches) pays nothing. */
  private start(): void {
    this.workers = Array.from({ length: this.threads }, () => {
      const slot = { worker: startWorker(WORKER_ENTRY, { nice: this.nice }), inFlight: 0 };
      slot.worker.on('message', (m: DecodeReply) => {
        slot.inFlight--;
        this.pending.settle(m.id, 'error' in m ? { error: m.reason ? new ImageRejected(m.reason, m.error) : new Error(m.error) } : { value: fromWire(m) });
      });
      slot.worker.on('error', (e) => this.stop(e));
      slot.worker.on('exit', (code) => this.stop(new Error(`a decode worker stopped (exit ${code})`)));
      return slot;
    });
  }

  /** The encoder's tensor, the preview and thumbnail, and OCR's input when `limits.ocrSide` asks for it. */
  decode(data: Buffer, prep: ImagePreprocessing, limits: DecodeLimits): Promise<DecodedImage> {
    // Plain fields only: the manifest's preprocessing object may carry more than a worker needs.
    const { size, resize, interpolation, mean, std } = prep;
    return this.call(data, { size, resize, interpolation, mean, std }, limits) as Promise<DecodedImage>;
  }

  /** OCR's input alone, of `maxSide` px at most (HEIC decodes for seconds: never on the main thread). */
  ocrInput(data: Buffer, maxSide: number, limits: DecodeLimits): Promise<Buffer> {
    return this.call(data, null, { ...limits, ocrSide: maxSide }) as Promise<Buffer>;
  }

  private call(data: Buffer, prep: ImagePreprocessing | null, limits: DecodeLimits): Promise<DecodedImage | Buffer> {
    if (this.stopped) return Promise.reject(this.stopped);
    if (this.workers.length === 0) this.start();
    const slot = this.workers.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
    slot.inFlight++;
    const { id, result } = this.pending.open();
    slot.worker.postMessage({ id, data, prep, limits } satisfies DecodeRequest);
    return result;
  }

  private stop(e: Error): void {
    this.stopped ??= e;
    this.pending.failAll(this.stopped);
  }

  async close(): Promise<void> {
    this.stop(new Error('the decode pool is closed'));
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}

/** Buffers arrive as plain Uint8Arrays from a worker. */
function fromWire(m: Exclude<DecodeReply, { error: string }>): DecodedImage | Buffer {
  if ('ocrInput' in m) return Buffer.from(m.ocrInput);
  const { image } = m;
  return {
    ...image,
    preview: Buffer.from(image.preview),
    thumbnail: Buffer.from(image.thumbnail),
    ...(image.ocrInput ? { ocrInput: Buffer.from(image.ocrInput) } : {}),
  };
}
