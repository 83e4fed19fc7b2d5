import type { Image } from '../generated/client';
import type { Db } from '../prisma';

export type ImageRow = Image;

/**
 * Image rows: what is known about every photo, and whether its vector is stored (state). A row marked
 * deleted is invisible to every read here, whatever else is still to be removed.
 */
export class ImageRepository {
  constructor(private readonly db: Db) {}

  findById(id: string): Promise<ImageRow | null> {
    return this.db.image.findFirst({ where: { id, deletedAt: null } });
  }

  /** Rows the search may show: indexed, not deleted, and the caller's when an owner is given. */
  indexedByIds(ids: readonly string[], owner?: string): Promise<ImageRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db.image.findMany({ where: { id: { in: [...ids] }, state: 'indexed', deletedAt: null, ...(owner !== undefined ? { owner } : {}) } });
  }

  /** What ingest needs to decide whether known content must be embedded again (deleted content is new again). */
  ingestState(id: string): Promise<Pick<ImageRow, 'state' | 'modelPack' | 'albums'> | null> {
    return this.db.image.findFirst({ where: { id, deletedAt: null }, select: { state: true, modelPack: true, albums: true } });
  }

  /** Hides the image from every read at once; the caller removes the rest. Null when there was nothing to delete. */
  async markDeleted(id: string, owner: string | undefined): Promise<Pick<ImageRow, 'id' | 'sha256'> | null> {
    const marked = await this.db.image.updateManyAndReturn({
      where: { id, deletedAt: null, ...(owner !== undefined ? { owner } : {}) },
      data: { deletedAt: new Date() },
      select: { id: true, sha256: true },
    });
    return marked[0] ?? null;
  }

  /** Rows marked deleted whose purge has not finished (an outage or a crash came in between). */
  deletedAwaitingPurge(take = 1000): Promise<Pick<ImageRow, 'id' | 'sha256'>[]> {
    return this.db.image.findMany({ where: { deletedAt: { not: null } }, select: { id: true, sha256: true }, take });
  }

  /** Whether any live image shows these bytes: derivatives are stored by content, shared across owners. */
  async contentInUse(sha256: string): Promise<boolean> {
    return (await this.db.image.count({ where: { sha256, deletedAt: null } })) > 0;
  }

  /** The last step of a delete: the row goes, and its cached captions with it (cascade). */
  async removeDeleted(id: string): Promise<void> {
    await this.db.image.deleteMany({ where: { id, deletedAt: { not: null } } });
  }

  /** Images whose vector another pack made or that are not known to be stored (modelPack null). */
  staleForPack(packKey: string): Promise<Pick<ImageRow, 'id' | 'sha256'>[]> {
    return this.db.image.findMany({
      where: { OR: [{ modelPack: { not: packKey } }, { modelPack: null }], state: { not: 'failed' }, deletedAt: null },
      select: { id: true, sha256: true },
    });
  }

  /** Every live row's id, state and pack, for reconciling with the vector store (deleted rows count as gone). */
  allStates(): Promise<Pick<ImageRow, 'id' | 'state' | 'modelPack'>[]> {
    return this.db.image.findMany({ where: { deletedAt: null }, select: { id: true, state: true, modelPack: true } });
  }

  /** Marks images for re-embedding: pending, with no pack known to have stored their vector. */
  async requeue(ids: readonly string[]): Promise<void> {
    if (ids.length) await this.db.image.updateMany({ where: { id: { in: [...ids] } }, data: { state: 'pending', modelPack: null } });
  }

  ownedBy(owner: string): Promise<Pick<ImageRow, 'id' | 'source'>[]> {
    return this.db.image.findMany({ where: { owner, deletedAt: null }, select: { id: true, source: true } });
  }
}
