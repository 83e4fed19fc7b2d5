import sharp from 'sharp';
import type { OcrRepository } from '../db/repositories';
import type { Logger } from '../util/logger';
import { Semaphore } from '../util/semaphore';
import { foldText, indexTokens } from './textTokens';
import type { TextReader } from './textReader';

export interface OcrStageSettings {
  /** Longest side of the image OCR reads (the detector scales to it too). */
  maxSide: number;
  /** OCR runs at once: each takes a core's worth of work. */
  concurrency: number;
  /** Images waiting for OCR before ingest waits: bounds the memory their bytes hold. */
  queueLimit: number;
}

export type OcrResult = 'done' | 'failed';

/**
 * OCR beside the CLIP path: an ingest batch hands each new image's bytes over once its vector is stored,
 * and goes on; the text is stored when read, and a failure is recorded on the image (still searchable by
 * meaning). Jobs wait for their OCR before they complete, so staged uploads outlive their reading.
 */
export class OcrStage {
  private readonly slots: Semaphore;
  private readonly byJob = new Map<string, Set<Promise<OcrResult>>>();
  private waiting = 0;
  private readonly room: (() => void)[] = [];

  constructor(
    private readonly reader: TextReader,
    private readonly repo: OcrRepository,
    private readonly settings: OcrStageSettings,
    private readonly observe: (r: { result: OcrResult; ms: number }) => void,
    private readonly log: Logger,
  ) {
    this.slots = new Semaphore(settings.concurrency);
  }

  get engine(): string {
    return this.reader.key;
  }

  /** Queues one image; waits only while queueLimit images are already waiting. */
  async submit(jobId: string, imageId: string, data: Buffer): Promise<void> {
    while (this.waiting >= this.settings.queueLimit) await new Promise<void>((r) => this.room.push(r));
    this.waiting++;
    const task = this.read(imageId, data).finally(() => {
      this.waiting--;
      this.room.shift()?.();
    });
    let set = this.byJob.get(jobId);
    if (!set) this.byJob.set(jobId, (set = new Set()));
    set.add(task);
    void task.finally(() => set.delete(task));
  }

  /** Resolves when every image the job handed over has been read (or has failed). */
  async drain(jobId: string): Promise<void> {
    const set = this.byJob.get(jobId);
    while (set?.size) await Promise.all([...set]);
    this.byJob.delete(jobId);
  }

  /** Reads one image's text and stores it; never throws (a failure is recorded on the image). */
  read(imageId: string, data: Buffer): Promise<OcrResult> {
    return this.slots.run(async () => {
      const start = performance.now();
      let result: OcrResult = 'done';
      try {
        const { data: pixels, info } = await sharp(data, { failOn: 'none', animated: false })
          .rotate()
          .resize(this.settings.maxSide, this.settings.maxSide, { fit: 'inside', withoutEnlargement: true })
          .removeAlpha()
          .toColourspace('srgb')
          .raw()
          .toBuffer({ resolveWithObject: true });
        const meta = await sharp(data).metadata();
        // Boxes are stored in the photo's own (upright) pixels, not in the scaled copy OCR read.
        const scale = (((meta.orientation ?? 1) >= 5 ? meta.height : meta.width) ?? info.width) / info.width;
        const lines = (await this.reader.read({ data: pixels, width: info.width, height: info.height })).map((l) => ({
          ...l,
          box: l.box.map((v) => Math.round(v * scale)) as [number, number, number, number],
        }));
        const text = lines.map((l) => l.text).join('\n');
        await this.repo.save(imageId, this.reader.key, lines, lines.map((l) => foldText(l.text)).join('\n'), indexTokens(text));
      } catch (e) {
        result = 'failed';
        this.log.warn({ image: imageId, err: (e as Error).message }, 'OCR failed; the image stays searchable by meaning');
        await this.repo.markFailed(imageId, (e as Error).message).catch(() => undefined);
      }
      this.observe({ result, ms: performance.now() - start });
      return result;
    });
  }
}
