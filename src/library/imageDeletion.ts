import type { ImageRef, ImageRepository, IngestRepository } from '../db/repositories';
import type { EventSink } from '../events/events';
import type { DerivativeStore } from '../images/derivativeStore';
import type { ModelSource } from '../packs/activeModel';
import type { Logger } from '../util/logger';
import { assetPointIds } from '../util/ids';

export interface ImageDeletionDeps {
  images: ImageRepository;
  /** Pending ingest items that would write the deleted photos again are withdrawn. */
  items: Pick<IngestRepository, 'withdrawItems'>;
  /** Vectors are removed from the collection of the pack in use (others' are found by reconcile once their pack is back). */
  model: ModelSource;
  derivatives: DerivativeStore;
  events: EventSink;
  log: Logger;
}

type AssetPoints = Parameters<typeof assetPointIds>[0];

export interface DeletedImage {
  id: string;
  externalId: string | null;
  owner: string;
  segmentCount: number;
}

/**
 * Deleting photos: the rows are marked deleted first, in one statement, which hides them from every
 * endpoint at once (search, similar, retrieval, captions, metadata, signed image URLs). The vectors,
 * the image's own derivative files and the rows follow; if the vector store is down in between, the
 * delete stays marked and `reconcile` finishes it. Never searchable again, never an orphan. A delete is later than
 * any ingest already asked for: the pending items that would write the photos again are withdrawn.
 */
export class ImageDeletion {
  constructor(private readonly deps: ImageDeletionDeps) {}

  /** Deletes `owner`'s images (any owner's when undefined); returns those that were there to delete. */
  async delete(refs: readonly ImageRef[], owner: string | undefined): Promise<DeletedImage[]> {
    const marked = await this.deps.images.markDeleted(refs, owner);
    await this.deps.items.withdrawItems(marked);
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
  private async purgeOrLeaveToReconcile(rows: readonly AssetPoints[]): Promise<void> {
    try {
      await this.purge(rows);
    } catch (e) {
      this.deps.log.warn({ images: rows.length, err: (e as Error).message }, 'images hidden; their vectors and files will be removed by reconcile');
    }
  }

  /** Every point of an asset goes (a video's frames too), with each point's files, then the rows. */
  private async purge(rows: readonly AssetPoints[]): Promise<void> {
    const PAGE = 500;
    for (let i = 0; i < rows.length; i += PAGE) {
      const page = rows.slice(i, i + PAGE);
      const points = page.flatMap(assetPointIds);
      await this.deps.model.current.images.delete(points);
      await Promise.all(points.map((id) => this.deps.derivatives.removeAll(id)));
      await this.deps.images.removeDeleted(page.map((r) => r.id));
    }
  }

  /** Finishes deletes an outage or a crash interrupted (one may have hidden its rows and withdrawn nothing yet); returns the ids it finished. */
  async purgeInterrupted(): Promise<string[]> {
    const done: string[] = [];
    for (;;) {
      const rows = await this.deps.images.deletedAwaitingPurge();
      if (rows.length === 0) return done;
      await this.deps.items.withdrawItems(rows);
      await this.purge(rows);
      done.push(...rows.map((r) => r.id));
    }
  }
}
