/**
 * Child-process entry: decodes images (pixels, tensor, preview, thumbnail, OCR input) for the parent.
 * A process, not a worker thread, because sharp's work runs on libuv's and libvips's threads, which a
 * process shares between all its threads: only a process of its own can run that work at a lower
 * priority than the parent's searches (and a decoder crash cannot take the service down).
 */
import { lowerProcessPriority } from '../util/priority';
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

function run(msg: DecodeRequest): Promise<DecodeReply> {
  const data = Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength);
  if (msg.prep) return decodeImage(data, msg.prep, msg.limits).then((image) => ({ id: msg.id, image }));
  return decodeOcrInput(data, msg.limits.ocrSide ?? 0, msg.limits).then((ocrInput) => ({ id: msg.id, ocrInput }));
}

const nice = process.argv[2] ? Number(process.argv[2]) : null;
if (nice !== null) lowerProcessPriority(nice);

process.on('message', (msg: DecodeRequest) => {
  run(msg).then(
    (reply) => process.send?.(reply),
    (e: Error) => process.send?.({ id: msg.id, error: e.message, ...(e instanceof ImageRejected ? { reason: e.reason } : {}) } satisfies DecodeReply),
  );
});
// The parent is gone (or closed the pool): nothing is left to decode for.
process.on('disconnect', () => process.exit(0));
