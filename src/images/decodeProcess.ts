/**
 * Child-process entry: decodes images (pixels, tensor, preview, thumbnail, OCR input, an animation's
 * frames) for the parent. A process, not a worker thread, because sharp's work runs on libuv's and
 * libvips's threads, which a process shares between all its threads: only a process of its own can run
 * that work at a lower priority than the parent's searches (and a decoder crash cannot take the service down).
 */
import { lowerProcessPriority } from '../util/priority';
import { sampleAnimation, type AnimatedFrame, type FrameSampling } from './animatedFrames';
import { decodeImage, decodeOcrInput, ImageRejected, type DecodedImage, type DecodeLimits, type RejectReason } from './decode';
import type { ImagePreprocessing } from '../models/preprocess';

/** What the parent asks of one image: the encoder's decode, OCR's input alone, or an animation's picked frames. */
export type DecodeTask =
  | { op: 'image'; data: Uint8Array; prep: ImagePreprocessing; limits: DecodeLimits }
  | { op: 'ocrInput'; data: Uint8Array; maxSide: number; limits: DecodeLimits }
  | { op: 'frames'; data: Uint8Array; delaysMs: number[]; sampling: FrameSampling; maxPixels: number };

export type DecodeRequest = DecodeTask & { id: number };

/** What each task gives back. */
export interface DecodeResults {
  image: DecodedImage;
  ocrInput: Uint8Array;
  frames: AnimatedFrame[];
}

export type DecodeReply = { id: number; value: DecodeResults[DecodeTask['op']] } | { id: number; error: string; reason?: RejectReason };

function run(msg: DecodeRequest): Promise<DecodeResults[DecodeTask['op']]> {
  const data = Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength);
  switch (msg.op) {
    case 'image':
      return decodeImage(data, msg.prep, msg.limits);
    case 'ocrInput':
      return decodeOcrInput(data, msg.maxSide, msg.limits);
    case 'frames':
      return sampleAnimation(data, msg.delaysMs, msg.sampling, msg.maxPixels);
  }
}

const nice = process.argv[2] ? Number(process.argv[2]) : null;
if (nice !== null) lowerProcessPriority(nice);

process.on('message', (msg: DecodeRequest) => {
  run(msg).then(
    (value) => process.send?.({ id: msg.id, value } satisfies DecodeReply),
    (e: Error) => process.send?.({ id: msg.id, error: e.message, ...(e instanceof ImageRejected ? { reason: e.reason } : {}) } satisfies DecodeReply),
  );
});
// The parent is gone (or closed the pool): nothing is left to decode for.
process.on('disconnect', () => process.exit(0));
