import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { PendingCalls, startReadyWorker, transferable } from '../util/workerThread';
import type * as ort from 'onnxruntime-node';
import type { SessionOptions } from './onnxSession';
import { fromWire, toWire, type HostReply, type HostRequest, type SessionHostData, type WireTensor } from './sessionWire';

/** What the encoders need of an ONNX session; the session itself lives on a worker thread. */
export interface InferenceRunner {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>>;
}

export interface SessionHostOptions extends SessionOptions {
  /**
   * Nice value (0..19) for the host's threads, onnxruntime's included: background work (ingest, OCR)
   * then takes the cores only while queries leave them idle. Linux only; elsewhere it is ignored.
   */
  nice?: number;
}

const WORKER_ENTRY = path.join(__dirname, `sessionWorker${path.extname(__filename)}`);

/**
 * One worker thread holding one or more ONNX sessions. onnxruntime-node runs a session synchronously
 * on the thread that calls it; here that is the worker's, so the event loop keeps answering requests
 * while a batch is encoded, and sessions of different hosts run in parallel.
 */
export class SessionHost {
  private readonly pending = new PendingCalls<Record<string, ort.Tensor>>();
  private dead: Error | null = null;

  private constructor(
    private readonly worker: Worker,
    readonly sessions: InferenceRunner[],
    /** Whether the threads run at the lower priority asked for. */
    readonly niced: boolean,
  ) {}

  static async open(files: string[], opts: SessionHostOptions): Promise<SessionHost> {
    const data: SessionHostData = {
      files,
      options: { intraOpThreads: opts.intraOpThreads, interOpThreads: opts.interOpThreads, executionProviders: opts.executionProviders },
      nice: opts.nice ?? null,
    };
    const { worker, ready } = await startReadyWorker<HostReply>(WORKER_ENTRY, data, files.join(', '));
    let host: SessionHost | null = null;
    const sessions = ready.sessions.map((s, index) => ({
      inputNames: s.inputNames,
      outputNames: s.outputNames,
      run: (feeds: Record<string, ort.Tensor>) => host!.run(index, feeds),
    }));
    host = new SessionHost(worker, sessions, ready.niced);
    host.listen();
    return host;
  }

  private listen(): void {
    this.worker.on('message', (m: HostReply) => {
      if (m.type !== 'result') return;
      this.pending.settle(
        m.id,
        m.error !== undefined || !m.outputs
          ? { error: new Error(m.error ?? 'no outputs') }
          : { value: Object.fromEntries(Object.entries(m.outputs).map(([k, w]) => [k, fromWire(w)])) },
      );
    });
    const die = (e: Error) => {
      this.dead = e;
      this.pending.failAll(e);
    };
    this.worker.on('error', die);
    this.worker.on('exit', (code) => die(new Error(`session worker stopped (exit ${code})`)));
  }

  private run(session: number, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
    if (this.dead) return Promise.reject(this.dead);
    const wire: Record<string, WireTensor> = {};
    const transfer = new Set<ArrayBuffer>();
    for (const [name, t] of Object.entries(feeds)) {
      const w = toWire(t, false);
      // The caller built these feeds for this run: hand their memory over instead of copying it.
      wire[name] = { ...w, data: transferable(w.data) };
      transfer.add(wire[name].data.buffer as ArrayBuffer);
    }
    const { id, result } = this.pending.open();
    this.worker.postMessage({ type: 'run', id, session, feeds: wire } satisfies HostRequest, [...transfer]);
    return result;
  }

  async close(): Promise<void> {
    if (this.dead) return;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ type: 'close' } satisfies HostRequest);
    await exited;
  }
}
