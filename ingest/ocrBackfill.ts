import { readFile } from 'node:fs/promises';
import type { ImageRepository, IngestRepository, OcrRepository, PendingItem } from '../src/db/repositories';
import type { DerivativeStore } from '../src/images/derivativeStore';
import type { DecodeLimits } from '../src/images/decode';
import type { DecodePool } from '../src/images/decodePool';
import type { OcrStage } from '../src/ocr/ocrStage';
import { sha256Hex } from '../src/util/ids';
import type { JobProgress } from './pipeline';

export interface OcrBackfillDeps {
  ocr: Pick<OcrStage, 'inputSide' | 'wake'> | null;
  imageRows: ImageRepository;
  ocrRows: OcrRepository;
  jobs: IngestRepository;
  derivatives: DerivativeStore;
  decoder: Pick<DecodePool, 'ocrInput'>;
  decode: DecodeLimits;
}

/**
 * Queues OCR for images ingested before it was on: each gets its OCR input from the original when it is
 * still on disk unchanged (folder ingest), else from the stored 512 px preview (uploads and URLs are not
 * kept whole, and small print may be lost at that size); the OCR stage then reads them like new images.
 */
export class OcrBackfill {
  constructor(private readonly deps: OcrBackfillDeps) {}

  async run(items: readonly PendingItem[], onProgress: (d: Partial<JobProgress>) => void, shouldStop: () => boolean): Promise<void> {
    const { ocr, jobs } = this.deps;
    for (const item of items) {
      if (shouldStop()) return;
      const image = item.imageId ? await this.deps.imageRows.findById(item.imageId) : null;
      const error = !image ? 'image no longer exists' : !ocr ? 'OCR is off (OCR=off)' : null;
      if (error || !image || !ocr) {
        await jobs.markItemFailed(item.id, error ?? 'image no longer exists');
        onProgress({ failed: 1 });
        continue;
      }
      await this.deps.derivatives.put('ocr', image.id, await this.deps.decoder.ocrInput(await this.bestCopy(image), ocr.inputSide, this.deps.decode));
      await this.deps.ocrRows.markPending([image.id]);
      await jobs.markItemDone(item.id, image.id);
      onProgress({ done: 1 });
      ocr.wake();
    }
  }

  private async bestCopy(image: { id: string; sha256: string; sourceKind: string; source: string }): Promise<Buffer> {
    if (image.sourceKind === 'folder') {
      const original = await readFile(image.source).catch(() => null);
      if (original && sha256Hex(original) === image.sha256) return original;
    }
    return this.deps.derivatives.read('preview', image.id);
  }
}
