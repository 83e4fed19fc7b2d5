import { Worker } from 'node:worker_threads';

/**
 * Starts a worker thread from `entry`, a sibling module of the caller (`__filename`'s extension). Run
 * from TypeScript sources (tsx, jest), the worker registers tsx's require hook before loading it: an
 * ESM loader passed with --import does not reach worker threads on every Node version.
 */
export function startWorker(entry: string, workerData: unknown): Worker {
  if (!entry.endsWith('.ts')) return new Worker(entry, { workerData });
  const boot = `require(${JSON.stringify(require.resolve('tsx/cjs/api'))}).register(); require(${JSON.stringify(entry)});`;
  return new Worker(boot, { eval: true, workerData, execArgv: [] });
}

/** Calls sent to a worker thread or child process, each settled by the reply that carries its id, or all at once when it dies. */
export class PendingCalls<T> {
  private nextId = 0;
  private readonly calls = new Map<number, { resolve: (value: T) => void; reject: (e: Error) => void }>();

  /** A new call: send `id` with the request and await `result`. */
  open(): { id: number; result: Promise<T> } {
    const id = this.nextId++;
    const result = new Promise<T>((resolve, reject) => this.calls.set(id, { resolve, reject }));
    return { id, result };
  }

  settle(id: number, outcome: { value: T } | { error: Error }): void {
    const call = this.calls.get(id);
    this.calls.delete(id);
    if (!call) return;
    if ('error' in outcome) call.reject(outcome.error);
    else call.resolve(outcome.value);
  }

  failAll(e: Error): void {
    for (const call of this.calls.values()) call.reject(e);
    this.calls.clear();
  }
}

/**
 * Starts a worker (see startWorker) and waits for its first message: `{ type: 'ready' }` resolves with
 * that message; `{ type: 'failed', error }`, an error or an exit before it rejects, and the worker is
 * terminated. `loading` says what it was loading, for the exit's message.
 */
export async function startReadyWorker<R extends { type: string }>(
  entry: string,
  workerData: unknown,
  loading: string,
): Promise<{ worker: Worker; ready: Extract<R, { type: 'ready' }> }> {
  const worker = startWorker(entry, workerData);
  try {
    const ready = await new Promise<Extract<R, { type: 'ready' }>>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`${loading}: the worker exited (${code}) while loading`)));
      worker.once('message', (m: R) => {
        worker.removeAllListeners('error').removeAllListeners('exit');
        if (m.type === 'ready') resolve(m as Extract<R, { type: 'ready' }>);
        else reject(new Error('error' in m && typeof m.error === 'string' ? m.error : `unexpected message ${m.type}`));
      });
    });
    return { worker, ready };
  } catch (e) {
    await worker.terminate();
    throw e;
  }
}

/**
 * Bytes to post to a worker with their buffer transferred: the same view when it spans a whole
 * ArrayBuffer of its own (the caller hands its memory over), else a copy (other data shares it).
 */
export function transferable<T extends ArrayBufferView & { slice(): T }>(view: T): T {
  const whole = view.byteOffset === 0 && view.byteLength === view.buffer.byteLength && view.buffer instanceof ArrayBuffer;
  return whole ? view : view.slice();
}
