import type { ImageRepository } from '../db/repositories';
import type { DerivativeStore } from '../images/derivativeStore';
import type { VectorCollection } from '../store/vectorStore';
import type { Logger } from '../util/logger';

export interface ImageDeletionDeps {
  images: ImageRepository;
  collection: VectorCollection;
  derivatives: DerivativeStore;
  log: Logger;
}

/**
 * Deleting a photo: the row is marked deleted first, in one statement, which hides it from every
 * endpoint at once (search, similar, retrieval, captions, metadata, signed image URLs). The vector,
 * the derivative files (when no other image shows the same bytes) and the row follow; if the vector
 * store is down in between, the delete stays marked and `reconcile` finishes it. Never searchable
 * again, never an orphan.
 */
export class ImageDeletion {
  constructor(private readonly deps: ImageDeletionDeps) {}

  /** Deletes `owner`'s image (any owner's when owner is undefined). False when there was nothing to delete. */
  async delete(id: string, owner: string | undefined): Promise<boolean> {
    const marked = await this.deps.images.markDeleted(id, owner);
    if (!marked) return false;
    await this.purgeOrLeaveToReconcile(marked);
    return true;
  }

  /** Deletes every image of one owner: all hidden at once, then removed one by one; returns how many. */
  async deleteOwner(owner: string): Promise<number> {
    const marked = await this.deps.images.markOwnerDeleted(owner);
    for (const row of marked) await this.purgeOrLeaveToReconcile(row);
    return marked.length;
  }

  /** The image is hidden already; if the store is down, reconcile removes the rest later. */
  private async purgeOrLeaveToReconcile(row: { id: string; sha256: string }): Promise<void> {
    try {
      await this.purge(row);
    } catch (e) {
      this.deps.log.warn({ image: row.id, err: (e as Error).message }, 'image hidden; its vector and files will be removed by reconcile');
    }
  }

  private async purge(row: { id: string; sha256: string }): Promise<void> {
    await this.deps.collection.delete([row.id]);
    if (!(await this.deps.images.contentInUse(row.sha256))) {
      await Promise.all([this.deps.derivatives.remove('thumbnail', row.sha256), this.deps.derivatives.remove('preview', row.sha256)]);
    }
    await this.deps.images.removeDeleted(row.id);
  }

  /** Finishes deletes an outage or a crash interrupted; returns the ids it finished. */
  async purgeInterrupted(): Promise<string[]> {
    const done: string[] = [];
    for (const row of await this.deps.images.deletedAwaitingPurge()) {
      await this.purge(row);
      done.push(row.id);
    }
    return done;
  }
}
