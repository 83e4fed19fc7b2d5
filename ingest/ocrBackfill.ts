import { readFile } from 'node:fs/promises';
import type { ImageRepository, IngestRepository, PendingItem } from '../src/db/repositories';
import type { DerivativeStore } from '../src/images/derivativeStore';
import type { OcrStage } from '../src/ocr/ocrStage';
import { mapConcurrent } from '../src/util/async';
import { sha256Hex } from '../src/util/ids';
import type { JobProgress } from './pipeline';

export interface OcrBackfillDeps {
  ocr: OcrStage | null;
  imageRows: ImageRepository;
  jobs: IngestRepository;
  derivatives: DerivativeStore;
  concurrency: number;
}

/**
 * OCR over images ingested before it was on. It reads the original when it is still on disk unchanged
 * (folder ingest), else the stored 512 px preview: uploads and URLs are not kept whole, and small print
 * may be lost at that size.
 */
export class OcrBackfill {
  constructor(private readonly deps: OcrBackfillDeps) {}

  async run(items: readonly PendingItem[], onProgress: (d: Partial<JobProgress>) => void, shouldStop: () => boolean): Promise<void> {
    const { ocr, jobs } = this.deps;
    for await (const outcome of mapConcurrent(items, this.deps.concurrency, async (item) => {
      if (shouldStop()) return null;
      const image = item.imageId ? await this.deps.imageRows.findById(item.imageId) : null;
      if (!image) return { item, imageId: null, error: 'image no longer exists' };
      if (!ocr) return { item, imageId: image.id, error: 'OCR is off (OCR=off)' };
      const result = await ocr.read(image.id, await this.bestCopy(image));
      return { item, imageId: image.id, error: result === 'done' ? null : 'OCR failed (see the image record)' };
    })) {
      if (!outcome) continue;
      if (outcome.error !== null || outcome.imageId === null) {
        await jobs.markItemFailed(outcome.item.id, outcome.error ?? 'image no longer exists');
        onProgress({ failed: 1 });
      } else {
        await jobs.markItemDone(outcome.item.id, outcome.imageId);
        onProgress({ done: 1 });
      }
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
