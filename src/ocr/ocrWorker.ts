/**
 * Worker-thread entry: PP-OCR, whole, on a thread of its own. Besides the two models' runs, reading a
 * photo costs about 55 ms of JavaScript (the detector's input tensor, its text boxes, the recogniser's
 * decoding); on the main thread that ran at the searches' priority and held every request behind it
 * (event-loop delay p99 17 ms while OCR read, 8-9 ms since). Here it runs niced, with the models; each model run
 * still waits for its turn at the service's encoder gate, which is asked through the port.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { lowerThreadPriority } from '../util/priority';
import { PpOcr, type PpOcrSettings } from './ppOcr';
import type { OcrLine, RgbImage } from './textReader';

export interface OcrWorkerData {
  settings: PpOcrSettings;
  /** Nice value for this thread and onnxruntime's pool; null leaves the process's. */
  nice: number | null;
}

export type OcrWorkerRequest =
  | { type: 'read'; id: number; image: RgbImage }
  /** The service's gate admitted model run `slot`: start it. */
  | { type: 'go'; slot: number }
  | { type: 'close' };

export type OcrWorkerReply =
  | { type: 'ready'; niced: boolean }
  | { type: 'failed'; error: string }
  /** Read `id` has a model run to do: it starts on 'go'. */
  | { type: 'slot'; id: number; slot: number }
  /** Model run `slot` is over, however it ended: its gate slot is free. */
  | { type: 'ran'; slot: number }
  | { type: 'result'; id: number; lines: OcrLine[] }
  | { type: 'result'; id: number; error: string };

async function main(): Promise<void> {
  const port = parentPort!;
  const data = workerData as OcrWorkerData;
  // Before onnxruntime creates its pool, so that its threads inherit the value.
  const niced = data.nice !== null && lowerThreadPriority(data.nice);
  let ocr: PpOcr;
  try {
    ocr = await PpOcr.open(data.settings);
  } catch (e) {
    port.postMessage({ type: 'failed', error: (e as Error).message } satisfies OcrWorkerReply);
    return;
  }
  const admitted = new Map<number, () => void>();
  let nextSlot = 0;
  const post = (m: OcrWorkerReply) => port.postMessage(m);
  port.postMessage({ type: 'ready', niced } satisfies OcrWorkerReply);
  port.on('message', (msg: OcrWorkerRequest) => {
    if (msg.type === 'close') {
      void ocr.close().finally(() => port.close());
    } else if (msg.type === 'go') {
      admitted.get(msg.slot)?.();
      admitted.delete(msg.slot);
    } else {
      // Each model run of this read waits until the service's gate admits it, and frees its slot after.
      const schedule = async <T>(run: () => Promise<T>): Promise<T> => {
        const slot = nextSlot++;
        await new Promise<void>((resolve) => {
          admitted.set(slot, resolve);
          post({ type: 'slot', id: msg.id, slot });
        });
        try {
          return await run();
        } finally {
          post({ type: 'ran', slot });
        }
      };
      ocr.read(msg.image, schedule).then(
        (lines) => post({ type: 'result', id: msg.id, lines }),
        (e: Error) => post({ type: 'result', id: msg.id, error: e.message }),
      );
    }
  });
}

void main();
