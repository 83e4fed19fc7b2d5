import type { Logger } from '../util/logger';
import { lastPerKey } from '../util/collections';

/** Images whose vectors and rows ingest has just committed. */
export interface IndexedImage {
  imageId: string;
  owner: string;
  externalId: string | null;
  jobId: string;
}

/** What follows an image being stored: background stages queue it, webhooks announce it. */
export interface ImageListener {
  readonly name: string;
  indexed(images: readonly IndexedImage[]): Promise<void>;
  /** Images whose vectors a re-index made again with the pack in use: work waiting on them may run now. */
  reindexed?(imageIds: readonly string[]): Promise<void>;
}

/** The port ingest publishes through; it knows none of its listeners. */
export interface ImagePublisher {
  indexed(images: readonly IndexedImage[]): Promise<void>;
  reindexed(imageIds: readonly string[]): Promise<void>;
}

/**
 * Hands each committed batch to every listener. A listener that fails is logged and the others still
 * run: the images are stored already, and what a listener missed its own backfill finds again.
 */
export class ImageEventBus implements ImagePublisher {
  private readonly listeners: ImageListener[] = [];

  constructor(private readonly log: Logger) {}

  subscribe(listener: ImageListener): void {
    this.listeners.push(listener);
  }

  /** Once per image: a batch holds the same image twice when an upload holds a photo and its exact copy. */
  async indexed(images: readonly IndexedImage[]): Promise<void> {
    const once = lastPerKey(images, (i) => i.imageId);
    if (once.length === 0) return;
    await this.each((l) => l.indexed(once));
  }

  async reindexed(imageIds: readonly string[]): Promise<void> {
    if (imageIds.length === 0) return;
    await this.each((l) => l.reindexed?.(imageIds));
  }

  private async each(call: (l: ImageListener) => Promise<void> | undefined): Promise<void> {
    await Promise.all(
      this.listeners.map((l) =>
        Promise.resolve(call(l)).catch((e: Error) => this.log.warn({ listener: l.name, err: e.message }, 'an image listener failed; its backfill catches up')),
      ),
    );
  }
}
