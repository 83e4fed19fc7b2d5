import type { Logger } from '../util/logger';

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
}

/** The port ingest publishes through; it knows none of its listeners. */
export interface ImagePublisher {
  indexed(images: readonly IndexedImage[]): Promise<void>;
}

export const NO_LISTENERS: ImagePublisher = { indexed: () => Promise.resolve() };

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

  async indexed(images: readonly IndexedImage[]): Promise<void> {
    if (images.length === 0) return;
    await Promise.all(
      this.listeners.map((l) =>
        l.indexed(images).catch((e: Error) => this.log.warn({ listener: l.name, err: e.message }, 'an image listener failed; its backfill catches up')),
      ),
    );
  }
}
