import type { Image } from '../generated/client';
import type { Db } from '../prisma';

export type ImageRow = Image;

/** Image rows: what is known about every photo, and whether its vector is stored (state). */
export class ImageRepository {
  constructor(private readonly db: Db) {}

  findById(id: string): Promise<ImageRow | null> {
    return this.db.image.findUnique({ where: { id } });
  }

  /** Rows the search may show: indexed, and the caller's when an owner is given. */
  indexedByIds(ids: readonly string[], owner?: string): Promise<ImageRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db.image.findMany({ where: { id: { in: [...ids] }, state: 'indexed', ...(owner !== undefined ? { owner } : {}) } });
  }

  /** What ingest needs to decide whether known content must be embedded again. */
  ingestState(id: string): Promise<Pick<ImageRow, 'state' | 'modelPack' | 'albums'> | null> {
    return this.db.image.findUnique({ where: { id }, select: { state: true, modelPack: true, albums: true } });
  }

  /** Images whose vector another pack made or that are not known to be stored (modelPack null). */
  staleForPack(packKey: string): Promise<Pick<ImageRow, 'id' | 'sha256'>[]> {
    return this.db.image.findMany({
      where: { OR: [{ modelPack: { not: packKey } }, { modelPack: null }], state: { not: 'failed' } },
      select: { id: true, sha256: true },
    });
  }

  /** Every row's id, state and pack, for reconciling with the vector store. */
  allStates(): Promise<Pick<ImageRow, 'id' | 'state' | 'modelPack'>[]> {
    return this.db.image.findMany({ select: { id: true, state: true, modelPack: true } });
  }

  /** Marks images for re-embedding: pending, with no pack known to have stored their vector. */
  async requeue(ids: readonly string[]): Promise<void> {
    if (ids.length) await this.db.image.updateMany({ where: { id: { in: [...ids] } }, data: { state: 'pending', modelPack: null } });
  }

  ownedBy(owner: string): Promise<Pick<ImageRow, 'id' | 'source'>[]> {
    return this.db.image.findMany({ where: { owner }, select: { id: true, source: true } });
  }
}
