import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { PendingCalls, startReadyWorker, transferable } from '../util/workerThread';
import { PP_OCR_KEY, type PpOcrSettings } from './ppOcr';
import type { OcrWorkerData, OcrWorkerReply, OcrWorkerRequest } from './ocrWorker';
import type { OcrLine, RgbImage, Schedule, TextReader } from './textReader';

const ENTRY = path.join(__dirname, `ocrWorker${path.extname(__filename)}`);

/** One OCR worker thread: its reads, and the gate slots its model runs hold. */
class OcrWorker {
  private readonly pending = new PendingCalls<OcrLine[]>();
  private readonly schedules = new Map<number, Schedule>();
  /** Model runs admitted by their read's schedule: resolving one frees its slot. */
  private readonly running = new Map<number, () => void>();
  private dead: Error | null = null;

  constructor(
    private readonly worker: Worker,
    readonly niced: boolean,
  ) {
    worker.on('message', (m: OcrWorkerReply) => this.receive(m));
    const die = (e: Error) => {
      this.dead = e;
      this.pending.failAll(e);
      this.schedules.clear();
      // A run that never reports back must not hold its slot at the gate for good.
      for (const free of this.running.values()) free();
      this.running.clear();
    };
    worker.on('error', die);
    worker.on('exit', (code) => die(new Error(`the OCR thread stopped (exit ${code})`)));
  }

  static async start(data: OcrWorkerData): Promise<OcrWorker> {
    const { worker, ready } = await startReadyWorker<OcrWorkerReply>(ENTRY, data, 'the OCR models');
    return new OcrWorker(worker, ready.niced);
  }

  get load(): number {
    return this.schedules.size;
  }

  read(image: RgbImage, schedule: Schedule): Promise<OcrLine[]> {
    if (this.dead) return Promise.reject(this.dead);
    const { id, result } = this.pending.open();
    this.schedules.set(id, schedule);
    // The caller's pixels are not used after a read: hand their memory over.
    const pixels = transferable(image.data);
    this.worker.postMessage({ type: 'read', id, image: { data: pixels, width: image.width, height: image.height } } satisfies OcrWorkerRequest, [
      pixels.buffer as ArrayBuffer,
    ]);
    return result.finally(() => this.schedules.delete(id));
  }

  private receive(m: OcrWorkerReply): void {
    if (m.type === 'slot') {
      const schedule = this.schedules.get(m.id);
      if (!schedule) return;
      void schedule(
        () =>
          new Promise<void>((done) => {
            // Admitted after the thread died: nothing will report this run over.
            if (this.dead) return done();
            this.running.set(m.slot, done);
            this.worker.postMessage({ type: 'go', slot: m.slot } satisfies OcrWorkerRequest);
          }),
      );
    } else if (m.type === 'ran') {
      this.running.get(m.slot)?.();
      this.running.delete(m.slot);
    } else if (m.type === 'result') {
      this.pending.settle(m.id, 'error' in m ? { error: new Error(m.error) } : { value: m.lines });
    }
  }

  async close(): Promise<void> {
    if (this.dead) return;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ type: 'close' } satisfies OcrWorkerRequest);
    await exited;
  }
}

/**
 * PP-OCR on worker threads of its own, `concurrency` of them, each reading one image at a time with its
 * models: none of its work runs on the thread that answers requests, and all of it can run niced. Each
 * model run still takes its turn through the caller's schedule (the encoder gate: queries first).
 */
export class OcrThreads implements TextReader {
  readonly key = PP_OCR_KEY;

  private constructor(private readonly workers: OcrWorker[]) {}

  static async open(settings: PpOcrSettings, opts: { concurrency: number; nice: number | null }): Promise<OcrThreads> {
    const started = await Promise.allSettled(Array.from({ length: opts.concurrency }, () => OcrWorker.start({ settings, nice: opts.nice })));
    const workers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await Promise.all(workers.map((w) => w.close()));
      throw failed.reason;
    }
    return new OcrThreads(workers);
  }

  /** Whether the threads run at the nice value asked for. */
  get niced(): boolean {
    return this.workers.every((w) => w.niced);
  }

  read(image: RgbImage, schedule: Schedule = (run) => run()): Promise<OcrLine[]> {
    const worker = this.workers.reduce((best, w) => (w.load < best.load ? w : best));
    return worker.read(image, schedule);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }
}
