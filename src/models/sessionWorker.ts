/**
 * Worker-thread entry: owns ONNX sessions and runs them here. onnxruntime-node's run() is synchronous
 * on the calling thread, so a session on the main thread stops every HTTP request for the length of
 * each encoder batch; here it stops only this thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type * as ort from 'onnxruntime-node';
import { createSession, type SessionOptions } from './onnxSession';
import { lowerThreadPriority } from '../util/priority';
import { fromWire, toWire, type HostReply, type HostRequest, type SessionHostData } from './sessionWire';

async function main(): Promise<void> {
  const port = parentPort!;
  const data = workerData as SessionHostData;
  const niced = data.nice !== null && lowerThreadPriority(data.nice);
  const opts: SessionOptions = data.options;
  const sessions: ort.InferenceSession[] = [];
  try {
    for (const file of data.files) sessions.push(await createSession(file, opts));
  } catch (e) {
    port.postMessage({ type: 'failed', error: (e as Error).message } satisfies HostReply);
    return;
  }
  port.postMessage({
    type: 'ready',
    niced,
    sessions: sessions.map((s) => ({ inputNames: [...s.inputNames], outputNames: [...s.outputNames] })),
  } satisfies HostReply);
  port.on('message', (msg: HostRequest) => {
    if (msg.type === 'close') {
      void Promise.all(sessions.map((s) => s.release())).finally(() => port.close());
      return;
    }
    void (async () => {
      try {
        const feeds = Object.fromEntries(Object.entries(msg.feeds).map(([k, v]) => [k, fromWire(v)]));
        const out = await sessions[msg.session]!.run(feeds);
        const outputs = Object.fromEntries(Object.entries(out).map(([k, t]) => [k, toWire(t, true)]));
        port.postMessage({ type: 'result', id: msg.id, outputs } satisfies HostReply, Object.values(outputs).map((w) => w.data.buffer as ArrayBuffer));
      } catch (e) {
        port.postMessage({ type: 'result', id: msg.id, error: (e as Error).message } satisfies HostReply);
      }
    })();
  });
}

void main();
