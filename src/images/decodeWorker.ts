/** Worker-thread entry: decodes ingest's images (pixels, tensor, preview, thumbnail, OCR input) off the main thread. */
import { parentPort, workerData } from 'node:worker_threads';
import { lowerThreadPriority } from '../util/workerThread';
import { decodeImage, decodeOcrInput, ImageRejected, type DecodedImage, type DecodeLimits, type RejectReason } from './decode';
import type { ImagePreprocessing } from '../models/preprocess';

/** An image to decode for the encoder, or (no prep) OCR's input alone. */
export interface DecodeRequest {
  id: number;
  data: Uint8Array;
  prep: ImagePreprocessing | null;
  limits: DecodeLimits;
}

export type DecodeReply = { id: number; image: DecodedImage } | { id: number; ocrInput: Uint8Array } | { id: number; error: string; reason?: RejectReason };

const { nice } = workerData as { nice: number | null };
if (nice !== null) lowerThreadPriority(nice);

function run(msg: DecodeRequest): Promise<DecodeReply> {
  const data = Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength);
  if (msg.prep) return decodeImage(data, msg.prep, msg.limits).then((image) => ({ id: msg.id, image }));
  return decodeOcrInput(data, msg.limits.ocrSide ?? 0, msg.limits).then((ocrInput) => ({ id: msg.id, ocrInput }));
}

parentPort!.on('message', (msg: DecodeRequest) => {
  run(msg).then(
    (reply) => parentPort!.postMessage(reply, 'image' in reply ? [reply.image.tensor.data.buffer as ArrayBuffer] : []),
    (e: Error) => parentPort!.postMessage({ id: msg.id, error: e.message, ...(e instanceof ImageRejected ? { reason: e.reason } : {}) } satisfies DecodeReply),
  );
});
