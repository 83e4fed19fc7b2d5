import sharp from 'sharp';
import type { OcrRepository, StoredLine } from '../db/repositories';
import type { DerivativeStore } from '../images/derivativeStore';
import type { Logger } from '../util/logger';
import { StageRunner } from '../stages/stageRunner';
import { NEVER_BUSY, type IngestActivity } from '../stages/ingestActivity';
import type { Turn } from '../stages/quietTurn';
import { PermanentFailure, type Outcome, type WorkItem, type WorkQueue } from '../stages/workQueue';
import { foldText, indexTokens } from './textTokens';
import type { Schedule, TextReader } from './textReader';

export interface OcrStageSettings {
  /** Longest side of the image OCR reads (the detector scales to it too). */
  maxSide: number;
  /** OCR worker threads (OCR_CONCURRENCY), each reading one image at a time. */
  concurrency: number;
  /** How often images queued by other processes (the ingest CLI) are looked for. */
  pollMs: number;
}

export type OcrResult = 'done' | 'failed';

/** A page is read within seconds; a reader that died frees its page after this. */
const OCR_LEASE_MS = 10 * 60_000;

type OcrItem = WorkItem & { width: number };

/** OCR's queue is its state on the image row: pending images are leased there, and the outcome written there. */
class OcrQueue implements WorkQueue<OcrItem> {
  constructor(
    private readonly repo: OcrRepository,
    private readonly ingest: IngestActivity,
  ) {}

  async claim(take: number, leaseMs: number): Promise<OcrItem[]> {
    if (this.ingest.busy) return [];
    return (await this.repo.claimPendingOcr(take, leaseMs)).map((i) => ({ ...i, attempts: 0 }));
  }

  async settle(item: OcrItem, outcome: Outcome<void>): Promise<void> {
    // Done is written with the text itself; a retry is the database's failure, not the image's.
    if (outcome.state === 'failed') await this.repo.markFailed(item.id, outcome.error);
    else if (outcome.state === 'retry') await this.repo.releaseOcr([item.id]);
  }

  release(ids: readonly string[]): Promise<void> {
    return this.repo.releaseOcr(ids);
  }

  async nextDue(): Promise<Date | null> {
    // While ingest runs, nothing is due: its end wakes the stage.
    return !this.ingest.busy && (await this.repo.hasClaimableOcr()) ? new Date() : null;
  }
}

/**
 * OCR beside the vector path, on the stage runner. Ingest stores, with each new image, a grey JPEG at OCR
 * resolution and marks the image's OCR pending; this stage reads pending images after their vectors are
 * stored, at its own concurrency, behind queries and once this process's ingest jobs are done, and removes that
 * file once the text is stored.
 * Ingest never waits for OCR, an image that cannot be read is recorded as failed (still searchable by
 * meaning), a database that cannot store the text gives the image back to be read again, and a restart
 * finds the pending images again.
 */
export class OcrStage {
  private readonly runner: StageRunner<OcrItem>;

  constructor(
    private readonly reader: TextReader,
    private readonly repo: OcrRepository,
    private readonly derivatives: DerivativeStore,
    private readonly settings: OcrStageSettings,
    observe: (r: { result: OcrResult; ms: number }) => void,
    log: Logger,
    /** Where OCR's model runs wait their turn: behind queries, like ingest's encoder runs. */
    private readonly schedule: Schedule = (run) => run(),
    turn?: Turn,
    ingest: IngestActivity = NEVER_BUSY,
  ) {
    const runnerSettings = {
      // One image more than the workers read: while they read, the next is loaded from disk and the last
      // one's text stored (the CPU busy 85 % instead of 77 % while OCR read the mix's backlog).
      concurrency: settings.concurrency + 1,
      page: 16,
      leaseMs: OCR_LEASE_MS,
      pollMs: settings.pollMs,
      maxAttempts: Infinity,
      retryBaseMs: 0,
      retryMaxMs: 0,
    };
    this.runner = new StageRunner(
      'ocr',
      new OcrQueue(repo, ingest),
      (i) => this.readStored(i.id, i.width),
      runnerSettings,
      log,
      turn,
      (a) => observe({ result: a.state === 'done' ? 'done' : 'failed', ms: a.ms }),
    );
  }

  get engine(): string {
    return this.reader.key;
  }

  /** Longest side of the image ingest stores for OCR to read later (upright and grey, see decodeImage). */
  get inputSide(): number {
    return this.settings.maxSide;
  }

  start(): void {
    this.runner.start();
  }

  stop(): Promise<void> {
    return this.runner.stop();
  }

  /** New pending images: read them now. */
  wake(): void {
    this.runner.wake();
  }

  /** Resolves when no pending image is left, or ingest runs (tests, the CLI). */
  idle(): Promise<void> {
    return this.runner.idle();
  }

  /** Reads the stored OCR input (or, for images queued before it existed, the preview). */
  private async readStored(imageId: string, width: number): Promise<void> {
    const data = await this.derivatives.read('ocr', imageId).catch(() => this.derivatives.read('preview', imageId).catch(() => null));
    if (!data) throw new PermanentFailure('no stored image to read');
    try {
      await this.read(imageId, data, width);
    } catch (e) {
      if (e instanceof PermanentFailure) await this.derivatives.remove('ocr', imageId);
      throw e;
    }
    await this.derivatives.remove('ocr', imageId);
  }

  /**
   * Reads one image's text and stores it, with boxes in the pixels of an image `width` wide (the photo's
   * own, when a smaller copy is read). An image that cannot be read throws PermanentFailure; a database
   * that cannot store the result throws as it is, and the image is read again.
   */
  async read(imageId: string, data: Buffer, width?: number): Promise<void> {
    let lines: StoredLine[];
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
      lines = (await this.reader.read({ data: pixels, width: info.width, height: info.height }, this.schedule)).map((l) => ({
        ...l,
        box: l.box.map((v) => Math.round(v * scale)) as [number, number, number, number],
      }));
    } catch (e) {
      throw new PermanentFailure(`OCR failed (the image stays searchable by meaning): ${(e as Error).message}`);
    }
    const text = lines.map((l) => l.text).join('\n');
    await this.repo.save(imageId, this.reader.key, lines, lines.map((l) => foldText(l.text)).join('\n'), indexTokens(text));
  }
}
