import sharp from 'sharp';
import type { OcrRepository, StoredLine } from '../db/repositories';
import type { DerivativeStore } from '../images/derivativeStore';
import type { Logger } from '../util/logger';
import { mapConcurrent } from '../util/async';
import { foldText, indexTokens } from './textTokens';
import type { Schedule, TextReader } from './textReader';

export interface OcrStageSettings {
  /** Longest side of the image OCR reads (the detector scales to it too). */
  maxSide: number;
  /** OCR runs at once: each takes a core's worth of work. */
  concurrency: number;
  /** How often images queued by other processes (the ingest CLI) are looked for. */
  pollMs: number;
}

export type OcrResult = 'done' | 'failed';

const PAGE = 16;
/** A page is read within seconds; a reader that died frees its page after this. */
const OCR_LEASE_MS = 10 * 60_000;

/**
 * OCR as its own durable queue beside the vector path. Ingest stores, with each new image, a grey JPEG
 * at OCR resolution and marks the image's OCR pending; this stage reads pending images from Postgres
 * after their vectors are stored, at its own concurrency, and removes that file once the text is
 * stored. Ingest never waits for OCR, an OCR failure is recorded on the image (still searchable by
 * meaning), and a restart simply finds the pending images again. Pages are leased, so instances
 * sharing one database each read different images.
 */
export class OcrStage {
  private running: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private stopped = true;

  constructor(
    private readonly reader: TextReader,
    private readonly repo: OcrRepository,
    private readonly derivatives: DerivativeStore,
    private readonly settings: OcrStageSettings,
    private readonly observe: (r: { result: OcrResult; ms: number }) => void,
    private readonly log: Logger,
    /** Where OCR's model runs wait their turn: behind queries, like ingest's encoder runs. */
    private readonly schedule: Schedule = (run) => run(),
  ) {}

  get engine(): string {
    return this.reader.key;
  }

  /** Longest side of the image ingest stores for OCR to read later (upright and grey, see decodeImage). */
  get inputSide(): number {
    return this.settings.maxSide;
  }

  start(): void {
    this.stopped = false;
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** New pending images: read them now (a pass in progress takes another turn). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.running = this.drain()
      .catch((e: Error) => this.log.warn({ err: e.message }, 'OCR pass failed; the next one retries'))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.wake();
        } else if (!this.stopped) {
          this.timer = setTimeout(() => this.wake(), this.settings.pollMs);
          this.timer.unref();
        }
      });
  }

  /** Resolves when no pending image is left (tests, the CLI). */
  async idle(): Promise<void> {
    for (;;) {
      while (this.running) await this.running;
      if (!(await this.repo.hasClaimableOcr())) return;
      // Not started (a CLI): read them here.
      if (this.stopped) await this.drain(false);
      else this.wake();
    }
  }

  /** Reads pending images until none is left, or until stop() when `stoppable` (what it leased and did not read is given back). */
  private async drain(stoppable = true): Promise<void> {
    const halt = () => stoppable && this.stopped;
    for (;;) {
      const page = await this.repo.claimPendingOcr(PAGE, OCR_LEASE_MS);
      if (page.length === 0) return;
      const unread = new Set(page.map((img) => img.id));
      for await (const id of mapConcurrent(page, this.settings.concurrency, (img) => this.readStored(img.id, img.width).then(() => img.id))) {
        unread.delete(id);
        if (halt()) break;
      }
      if (halt()) return this.repo.releaseOcr([...unread]);
    }
  }

  /** Reads the stored OCR input (or, for images queued before it existed, the preview). */
  private async readStored(imageId: string, width: number): Promise<OcrResult> {
    const data = await this.derivatives.read('ocr', imageId).catch(() => this.derivatives.read('preview', imageId).catch(() => null));
    if (!data) {
      await this.repo.markFailed(imageId, 'no stored image to read');
      return 'failed';
    }
    // The database failed, not the image: give it back now, so the next pass reads it again.
    const result = await this.read(imageId, data, width).catch(async (e: unknown) => {
      await this.repo.releaseOcr([imageId]).catch(() => undefined);
      throw e;
    });
    await this.derivatives.remove('ocr', imageId);
    return result;
  }

  /**
   * Reads one image's text and stores it, with boxes in the pixels of an image `width` wide (the photo's
   * own, when a smaller copy is read). An image that cannot be read is recorded as failed; a database that
   * cannot store the result throws, and the image is read again once its lease runs out (a failure of the
   * database is not the image's).
   */
  async read(imageId: string, data: Buffer, width?: number): Promise<OcrResult> {
    const start = performance.now();
    let result: OcrResult = 'done';
    let read: { lines: StoredLine[]; text: string };
    try {
      const meta = await sharp(data).metadata();
      const { data: pixels, info } = await sharp(data, { failOn: 'none', animated: false })
        .rotate()
        .resize(this.settings.maxSide, this.settings.maxSide, { fit: 'inside', withoutEnlargement: true })
        .removeAlpha()
        .toColourspace('srgb')
        .raw()
        .toBuffer({ resolveWithObject: true });
      const scale = (width ?? ((meta.orientation ?? 1) >= 5 ? meta.height : meta.width) ?? info.width) / info.width;
      const lines = (await this.reader.read({ data: pixels, width: info.width, height: info.height }, this.schedule)).map((l) => ({
        ...l,
        box: l.box.map((v) => Math.round(v * scale)) as [number, number, number, number],
      }));
      read = { lines, text: lines.map((l) => l.text).join('\n') };
    } catch (e) {
      result = 'failed';
      this.log.warn({ image: imageId, err: (e as Error).message }, 'OCR failed; the image stays searchable by meaning');
      await this.repo.markFailed(imageId, (e as Error).message).catch(() => undefined);
      this.observe({ result, ms: performance.now() - start });
      return result;
    }
    await this.repo.save(imageId, this.reader.key, read.lines, read.lines.map((l) => foldText(l.text)).join('\n'), indexTokens(read.text));
    this.observe({ result, ms: performance.now() - start });
    return result;
  }
}
