import type { ImageRef, ImageRepository } from '../db/repositories';
import type { EventSink } from '../events/events';
import type { DerivativeStore } from '../images/derivativeStore';
import type { VectorCollection } from '../store/vectorStore';
import type { Logger } from '../util/logger';

export interface ImageDeletionDeps {
  images: ImageRepository;
  collection: VectorCollection;
  derivatives: DerivativeStore;
  events: EventSink;
  log: Logger;
}

export interface DeletedImage {
  id: string;
  externalId: string | null;
  owner: string;
}

/**
 * Deleting photos: the rows are marked deleted first, in one statement, which hides them from every
 * endpoint at once (search, similar, retrieval, captions, metadata, signed image URLs). The vectors,
 * the image's own derivative files and the rows follow; if the vector store is down in between, the
 * delete stays marked and `reconcile` finishes it. Never searchable again, never an orphan.
 */
export class ImageDeletion {
  constructor(private readonly deps: ImageDeletionDeps) {}

  /** Deletes `owner`'s images (any owner's when undefined); returns those that were there to delete. */
  async delete(refs: readonly ImageRef[], owner: string | undefined): Promise<DeletedImage[]> {
    const marked = await this.deps.images.markDeleted(refs, owner);
    await this.purgeOrLeaveToReconcile(marked);
    await this.announce(marked);
    return marked;
  }

  /** Deletes every image of one owner: all hidden at once, then removed; returns how many. */
  async deleteOwner(owner: string): Promise<number> {
    const marked = await this.deps.images.markOwnerDeleted(owner);
    await this.purgeOrLeaveToReconcile(marked);
    await this.announce(marked);
    return marked.length;
  }

  /** The images are gone for every reader already; a failure to record the events must not fail the delete. */
  private async announce(rows: readonly DeletedImage[]): Promise<void> {
    await this.deps.events
      .emit(rows.map((r) => ({ type: 'image.deleted', owner: r.owner, data: { imageId: r.id, externalId: r.externalId } })))
      .catch((e: Error) => this.deps.log.warn({ err: e.message }, 'could not record image.deleted events'));
  }

  /** The images are hidden already; if the store is down, reconcile removes the rest later. */
  private async purgeOrLeaveToReconcile(rows: readonly { id: string }[]): Promise<void> {
    try {
      await this.purge(rows.map((r) => r.id));
    } catch (e) {
      this.deps.log.warn({ images: rows.length, err: (e as Error).message }, 'images hidden; their vectors and files will be removed by reconcile');
    }
  }

  private async purge(ids: readonly string[]): Promise<void> {
    const PAGE = 500;
    for (let i = 0; i < ids.length; i += PAGE) {
      const page = ids.slice(i, i + PAGE);
      await this.deps.collection.delete(page);
      await Promise.all(page.map((id) => this.deps.derivatives.removeAll(id)));
      await this.deps.images.removeDeleted(page);
    }
  }

  /** Finishes deletes an outage or a crash interrupted; returns the ids it finished. */
  async purgeInterrupted(): Promise<string[]> {
    const ids = (await this.deps.images.deletedAwaitingPurge()).map((r) => r.id);
    await this.purge(ids);
    return ids;
  }
}
