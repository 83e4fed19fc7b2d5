/** Worker-thread entry: decodes ingest's images (pixels, tensor, preview, thumbnail) off the main thread. */
import { parentPort, workerData } from 'node:worker_threads';
import { lowerThreadPriority } from '../util/workerThread';
import { decodeImage, ImageRejected, type DecodedImage, type DecodeLimits, type RejectReason } from './decode';
import type { ImagePreprocessing } from '../models/preprocess';

export interface DecodeRequest {
  id: number;
  data: Uint8Array;
  prep: ImagePreprocessing;
  limits: DecodeLimits;
}

export type DecodeReply = { id: number; image: DecodedImage } | { id: number; error: string; reason?: RejectReason };

const { nice } = workerData as { nice: number | null };
if (nice !== null) lowerThreadPriority(nice);

parentPort!.on('message', (msg: DecodeRequest) => {
  decodeImage(Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength), msg.prep, msg.limits).then(
    (image) => parentPort!.postMessage({ id: msg.id, image } satisfies DecodeReply, [image.tensor.data.buffer as ArrayBuffer]),
    (e: Error) => parentPort!.postMessage({ id: msg.id, error: e.message, ...(e instanceof ImageRejected ? { reason: e.reason } : {}) } satisfies DecodeReply),
  );
});
