import type { Image, Prisma } from '../generated/client';
import type { Db } from '../prisma';

export type ImageRow = Image;

/** Which images a caller may see: the same rules for search hits and for listings. */
export interface ImageVisibility {
  owner?: string | undefined;
  album?: string | undefined;
  takenFrom?: Date | undefined;
  takenTo?: Date | undefined;
  favorite?: boolean | undefined;
  /** Images carrying every one of these tags. */
  tags?: readonly string[] | undefined;
  /** Hidden and archived images are left out unless asked for. */
  includeHidden?: boolean | undefined;
  includeArchived?: boolean | undefined;
}

export interface ImagePatch {
  albums?: string[] | undefined;
  favorite?: boolean | undefined;
  hidden?: boolean | undefined;
  archived?: boolean | undefined;
  tags?: string[] | undefined;
  takenAt?: Date | null | undefined;
}

export type ImageSort = 'takenAt' | 'ingestedAt';

function visible(v: ImageVisibility): Prisma.ImageWhereInput {
  return {
    state: 'indexed',
    deletedAt: null,
    ...(v.owner !== undefined ? { owner: v.owner } : {}),
    ...(v.album !== undefined ? { albums: { has: v.album } } : {}),
    ...(v.takenFrom || v.takenTo ? { takenAt: { ...(v.takenFrom ? { gte: v.takenFrom } : {}), ...(v.takenTo ? { lte: v.takenTo } : {}) } } : {}),
    ...(v.favorite !== undefined ? { favorite: v.favorite } : {}),
    ...(v.tags?.length ? { tags: { hasEvery: [...v.tags] } } : {}),
    ...(v.includeHidden ? {} : { hidden: false }),
    ...(v.includeArchived ? {} : { archived: false }),
  };
}

/**
 * Image rows: what is known about every photo, and whether its vector is stored (state). A row marked
 * deleted is invisible to every read here, whatever else is still to be removed.
 */
export class ImageRepository {
  constructor(private readonly db: Db) {}

  findById(id: string): Promise<ImageRow | null> {
    return this.db.image.findFirst({ where: { id, deletedAt: null } });
  }

  /** Rows the search may show: indexed, not deleted, and visible under the caller's filters (Postgres has the last word). */
  indexedByIds(ids: readonly string[], visibility: ImageVisibility = { includeHidden: true, includeArchived: true }): Promise<ImageRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db.image.findMany({ where: { id: { in: [...ids] }, ...visible(visibility) } });
  }

  /** One page of a library, newest first by capture time (undated last) or by ingest time; stable order. */
  listPage(visibility: ImageVisibility, sort: ImageSort, offset: number, limit: number): Promise<ImageRow[]> {
    return this.db.image.findMany({
      where: visible(visibility),
      orderBy: sort === 'takenAt' ? [{ takenAt: { sort: 'desc', nulls: 'last' } }, { id: 'asc' }] : [{ ingestedAt: 'desc' }, { id: 'asc' }],
      skip: offset,
      take: limit,
    });
  }

  /** Applies a change of albums, flags, tags or capture time; null when the image is not the owner's (or gone). */
  async update(id: string, owner: string | undefined, patch: ImagePatch): Promise<ImageRow | null> {
    const changed = await this.db.image.updateManyAndReturn({
      where: { id, deletedAt: null, ...(owner !== undefined ? { owner } : {}) },
      data: Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)),
    });
    return changed[0] ?? null;
  }

  /** What ingest needs to decide whether known content must be embedded again (deleted content is new again). */
  ingestState(id: string): Promise<Pick<ImageRow, 'state' | 'modelPack' | 'albums' | 'takenAt' | 'favorite' | 'hidden' | 'archived' | 'tags'> | null> {
    return this.db.image.findFirst({
      where: { id, deletedAt: null },
      select: { state: true, modelPack: true, albums: true, takenAt: true, favorite: true, hidden: true, archived: true, tags: true },
    });
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

  /** Hides every image of one owner at once (the first step of purging the owner). */
  markOwnerDeleted(owner: string): Promise<Pick<ImageRow, 'id' | 'sha256'>[]> {
    return this.db.image.updateManyAndReturn({ where: { owner, deletedAt: null }, data: { deletedAt: new Date() }, select: { id: true, sha256: true } });
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
