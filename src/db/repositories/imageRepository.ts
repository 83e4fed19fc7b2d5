import { Prisma, type Image } from '../generated/client';
import { placeNames, type Place } from '../../places/place';
import type { Db } from '../prisma';
import { EARTH_RADIUS_KM, type GeoBox, type GeoCircle } from '../../util/geo';

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
  /** Images the image pack tagged with every one of these (auto tags). */
  autoTags?: readonly string[] | undefined;
  /** Taken in this country, province or city (a name of placeNames). */
  place?: string | undefined;
  /** Hidden and archived images are left out unless asked for. */
  includeHidden?: boolean | undefined;
  includeArchived?: boolean | undefined;
  mediaType?: 'image' | 'video' | undefined;
  camera?: string | undefined;
  /** EXIF position within this distance / inside this box; images without one never match. */
  near?: GeoCircle | undefined;
  within?: GeoBox | undefined;
}

/** One image of an owner named by our id or by the product's external id. */
export type ImageRef = { id: string } | { externalId: string };

export interface ImagePatch {
  albums?: string[] | undefined;
  favorite?: boolean | undefined;
  hidden?: boolean | undefined;
  archived?: boolean | undefined;
  tags?: string[] | undefined;
  takenAt?: Date | null | undefined;
}

export type ImageSort = 'takenAt' | 'ingestedAt';

/** Where a library page ended: its last row's sort time (null: undated) and id. The next page starts after it. */
export interface LibraryPosition {
  at: Date | null;
  id: string;
}

/** A row's place in the listing's order: the page after it starts there. */
export function positionOf(sort: ImageSort, row: Pick<ImageRow, 'id' | 'takenAt' | 'ingestedAt'>): LibraryPosition {
  return { at: sort === 'takenAt' ? row.takenAt : row.ingestedAt, id: row.id };
}

function boxWhere(b: GeoBox): Prisma.ImageWhereInput {
  const longitude = b.west <= b.east ? { longitude: { gte: b.west, lte: b.east } } : { OR: [{ longitude: { gte: b.west } }, { longitude: { lte: b.east } }] };
  return { latitude: { gte: b.south, lte: b.north }, ...longitude };
}

/** What a delete hands on: the points to remove, and what withdraws pending items and announces the delete. */
export type DeletedRow = Pick<ImageRow, 'id' | 'externalId' | 'owner' | 'segmentCount'>;
const DELETED_COLUMNS = Prisma.sql`id::text AS id, external_id AS "externalId", owner, segment_count AS "segmentCount"`;

/** What `visible()` requires of every row, as raw SQL over `images`: indexed, not deleted, hidden or archived. */
const SHOWN_SQL = Prisma.sql`state = 'indexed' AND deleted_at IS NULL AND hidden = false AND archived = false`;

function visible(v: ImageVisibility): Prisma.ImageWhereInput {
  return {
    state: 'indexed',
    deletedAt: null,
    ...(v.owner !== undefined ? { owner: v.owner } : {}),
    ...(v.album !== undefined ? { albums: { has: v.album } } : {}),
    ...(v.takenFrom || v.takenTo ? { takenAt: { ...(v.takenFrom ? { gte: v.takenFrom } : {}), ...(v.takenTo ? { lte: v.takenTo } : {}) } } : {}),
    ...(v.favorite !== undefined ? { favorite: v.favorite } : {}),
    ...(v.tags?.length ? { tags: { hasEvery: [...v.tags] } } : {}),
    ...(v.autoTags?.length ? { autoTags: { hasEvery: [...v.autoTags] } } : {}),
    ...(v.place !== undefined ? { places: { has: v.place } } : {}),
    ...(v.includeHidden ? {} : { hidden: false }),
    ...(v.includeArchived ? {} : { archived: false }),
    ...(v.mediaType !== undefined ? { mediaType: v.mediaType } : {}),
    ...(v.camera !== undefined ? { camera: v.camera } : {}),
    ...(v.within ? { AND: [boxWhere(v.within)] } : {}),
  };
}

function refWhere(ref: ImageRef, owner: string | undefined): Prisma.ImageWhereInput {
  return { deletedAt: null, ...ref, ...(owner !== undefined ? { owner } : {}) };
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

  /** `owner`'s image (any owner's when undefined) by our id or the product's external id. */
  find(ref: ImageRef, owner: string | undefined): Promise<ImageRow | null> {
    return this.db.image.findFirst({ where: refWhere(ref, owner) });
  }

  /** Whether any row, deleted or not, holds this id (a renamed external id keeps the id it was made with). */
  async idTaken(id: string): Promise<boolean> {
    return (await this.db.image.count({ where: { id } })) > 0;
  }

  /**
   * The visibility rules as a Prisma filter. A radius is a great-circle distance, which Prisma cannot
   * express: those ids are asked of Postgres first (within the circle's bounding latitudes, on the owner's rows).
   */
  private async where(v: ImageVisibility): Promise<Prisma.ImageWhereInput> {
    if (!v.near) return visible(v);
    const { lat, lon, radiusKm } = v.near;
    const dLat = (radiusKm / EARTH_RADIUS_KM) * (180 / Math.PI);
    // Casts: Postgres would otherwise type a parameter next to an integer literal as integer.
    const rows = await this.db.$queryRaw<{ id: string }[]>`
      SELECT id::text FROM images
      WHERE deleted_at IS NULL AND (${v.owner ?? null}::text IS NULL OR owner = ${v.owner ?? null}::text)
        AND latitude BETWEEN ${lat - dLat}::float8 AND ${lat + dLat}::float8
        AND 2 * ${EARTH_RADIUS_KM}::float8 * asin(least(1, sqrt(power(sin(radians(latitude - ${lat}::float8) / 2), 2)
              + cos(radians(${lat}::float8)) * cos(radians(latitude)) * power(sin(radians(longitude - ${lon}::float8) / 2), 2)))) <= ${radiusKm}::float8`;
    return { AND: [visible(v), { id: { in: rows.map((r) => r.id) } }] };
  }

  /** Rows the search may show: indexed, not deleted, and visible under the caller's filters (Postgres has the last word). */
  async indexedByIds(ids: readonly string[], visibility: ImageVisibility = { includeHidden: true, includeArchived: true }): Promise<ImageRow[]> {
    if (ids.length === 0) return [];
    return this.db.image.findMany({ where: { AND: [{ id: { in: [...ids] } }, await this.where(visibility)] } });
  }

  /**
   * One page of a library, newest first by capture time (undated last) or by ingest time, in a stable order.
   * Pages continue after the last row seen (keyset), not at an offset: a page costs the same deep in a library
   * of 100 000 photos, and images added or deleted while a product walks the pages shift nothing.
   */
  async listPage(visibility: ImageVisibility, sort: ImageSort, after: LibraryPosition | null, limit: number): Promise<ImageRow[]> {
    const where = await this.where(visibility);
    const rows: ImageRow[] = [];
    // Each part is one range of the (owner, time, id) index, read in order: no row before the position is read.
    const more = async (part: Prisma.ImageWhereInput | null) => {
      if (rows.length === limit) return;
      rows.push(
        ...(await this.db.image.findMany({
          where: part ? { AND: [where, part] } : where,
          orderBy: sort === 'takenAt' ? [{ takenAt: { sort: 'desc', nulls: 'last' } }, { id: 'asc' }] : [{ ingestedAt: 'desc' }, { id: 'asc' }],
          take: limit - rows.length,
        })),
      );
    };
    if (!after) await more(null);
    else if (!after.at) await more({ takenAt: null, id: { gt: after.id } });
    else if (sort === 'ingestedAt') {
      await more({ ingestedAt: after.at, id: { gt: after.id } });
      await more({ ingestedAt: { lt: after.at } });
    } else {
      await more({ takenAt: after.at, id: { gt: after.id } });
      await more({ takenAt: { lt: after.at } });
      // Undated photos come after every dated one.
      await more({ takenAt: null });
    }
    return rows;
  }

  /** Changes an image, marked as not yet in its vector payload (payloadSynced clears the mark); null when not the owner's (or gone). */
  async update(ref: ImageRef, owner: string | undefined, patch: ImagePatch): Promise<ImageRow | null> {
    const changed = await this.db.image.updateManyAndReturn({
      where: refWhere(ref, owner),
      data: { ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)), payloadDirty: true },
    });
    return changed[0] ?? null;
  }

  /**
   * Up to `n` live indexed images spread over the library (relevance calibration scores their vectors): ids are
   * uuidv5 hashes, so the run of ids from the middle of the id space on is a sample, read from the index alone.
   */
  async sampleIndexedIds(n: number): Promise<string[]> {
    const rows = await this.db.$queryRaw<{ id: string }[]>`
      (SELECT id::text AS id FROM images WHERE state = 'indexed' AND deleted_at IS NULL AND id >= '80000000-0000-0000-0000-000000000000' ORDER BY id LIMIT ${n})
      UNION ALL
      (SELECT id::text AS id FROM images WHERE state = 'indexed' AND deleted_at IS NULL AND id < '80000000-0000-0000-0000-000000000000' ORDER BY id LIMIT ${n})`;
    return rows.slice(0, n).map((r) => r.id);
  }

  /** Stores the auto tags one version of the stage chose, marked like a change (their payload follows); null when gone. */
  async setAutoTags(id: string, tags: readonly { label: string; score: number }[], model: string): Promise<ImageRow | null> {
    const changed = await this.db.image.updateManyAndReturn({
      where: { id, deletedAt: null },
      data: { autoTags: tags.map((t) => t.label), autoTagScores: tags.map((t) => t.score), autoTagsModel: model, payloadDirty: true },
    });
    return changed[0] ?? null;
  }

  /** Stores where the photo was taken, as one gazetteer version placed it, marked like a change; null when gone. */
  async setPlace(id: string, place: Place | null, version: string): Promise<ImageRow | null> {
    const changed = await this.db.image.updateManyAndReturn({
      where: { id, deletedAt: null },
      data: {
        place: place ? (place as unknown as Prisma.InputJsonObject) : Prisma.DbNull,
        places: placeNames(place),
        placeVersion: version,
        payloadDirty: true,
      },
    });
    return changed[0] ?? null;
  }

  /** Whether any visible photo (of `owner`, when given) was taken at this place. */
  async hasPlace(owner: string | undefined, place: string): Promise<boolean> {
    const found = await this.db.image.findFirst({ where: { ...visible({ owner }), places: { has: place } }, select: { id: true } });
    return found !== null;
  }

  /** Every name of the places an owner's visible photos were taken (src/places/knownPlaces.ts keeps them). */
  async placeNamesOf(owner: string): Promise<string[]> {
    const rows = await this.db.$queryRaw<{ name: string }[]>`
      SELECT DISTINCT unnest(places) AS name FROM images
      WHERE owner = ${owner} AND places <> '{}' AND ${SHOWN_SQL}`;
    return rows.map((r) => r.name);
  }

  /** The places an owner's visible photos were taken, with how many at each, most first (the listing's place facet). */
  async placeFacet(owner: string | undefined, take = 500): Promise<{ place: Prisma.JsonValue; count: number }[]> {
    const rows = await this.db.$queryRaw<{ place: Prisma.JsonValue; count: bigint }[]>`
      SELECT place, count(*) AS count FROM images
      WHERE ${SHOWN_SQL} AND place IS NOT NULL
        AND (${owner ?? null}::text IS NULL OR owner = ${owner ?? null})
      GROUP BY place ORDER BY count(*) DESC LIMIT ${take}`;
    return rows.map((r) => ({ place: r.place, count: Number(r.count) }));
  }

  /**
   * The vector payload has the row's filtered fields as `row` had them: the mark goes unless one of those fields
   * changed since. Compared field by field, not by updated_at, which writes the payload does not carry (OCR's
   * state) also move: those left the mark behind, and the next start rewrote payloads that were right. False when
   * a field changed since (or the image is gone): the payload just written may be older than the row.
   */
  async payloadSynced(row: ImageRow): Promise<boolean> {
    const { count } = await this.db.image.updateMany({
      where: {
        id: row.id,
        owner: row.owner,
        albums: { equals: row.albums },
        takenAt: row.takenAt,
        favorite: row.favorite,
        hidden: row.hidden,
        archived: row.archived,
        tags: { equals: row.tags },
        autoTags: { equals: row.autoTags },
        places: { equals: row.places },
        mediaType: row.mediaType,
        camera: row.camera,
        latitude: row.latitude,
        longitude: row.longitude,
      },
      data: { payloadDirty: false },
    });
    return count > 0;
  }

  /** Images changed in Postgres whose vector payload may not have the change (a crash came between). */
  payloadsToSync(take = 500): Promise<ImageRow[]> {
    return this.db.image.findMany({ where: { payloadDirty: true, deletedAt: null }, orderBy: { id: 'asc' }, take });
  }

  /** Indexed images by id, a page at a time after `after`: reconcile compares their payloads with the index. */
  indexedPage(after: string | null, take: number): Promise<ImageRow[]> {
    return this.db.image.findMany({
      where: { state: 'indexed', deletedAt: null, ...(after ? { id: { gt: after } } : {}) },
      orderBy: { id: 'asc' },
      take,
    });
  }

  /** A watched file moved: its image keeps its id and vector and takes the new name. False when there was none. */
  async renameExternalId(owner: string, from: string, to: string, source: string): Promise<boolean> {
    return (await this.db.image.updateMany({ where: { owner, externalId: from, deletedAt: null }, data: { externalId: to, source } })).count > 0;
  }

  /** What ingest needs to decide whether a known image must be embedded again (deleted images are new again). */
  ingestState(
    ref: ImageRef,
    owner: string,
  ): Promise<Pick<
    ImageRow,
    'id' | 'sha256' | 'state' | 'modelPack' | 'albums' | 'takenAt' | 'favorite' | 'hidden' | 'archived' | 'tags' | 'autoTags' | 'ocrState' | 'segmentCount'
  > | null> {
    return this.db.image.findFirst({
      where: refWhere(ref, owner),
      select: {
        id: true,
        sha256: true,
        state: true,
        modelPack: true,
        albums: true,
        takenAt: true,
        favorite: true,
        hidden: true,
        archived: true,
        tags: true,
        autoTags: true,
        ocrState: true,
        segmentCount: true,
      },
    });
  }

  /**
   * Hides images from every read at once; the caller removes the rest. Returns what was hidden
   * (images already deleted, another owner's or unknown ones are left out). The time is the database's, as
   * a job's is: a delete is weighed against the ingest jobs asked for before it (see IngestRepository.upsertPendingImages).
   */
  markDeleted(refs: readonly ImageRef[], owner: string | undefined): Promise<DeletedRow[]> {
    if (refs.length === 0) return Promise.resolve([]);
    const ids = refs.flatMap((r) => ('id' in r ? [r.id] : []));
    const externalIds = refs.flatMap((r) => ('externalId' in r ? [r.externalId] : []));
    return this.db.$queryRaw<DeletedRow[]>`
      UPDATE images SET deleted_at = now()
      WHERE deleted_at IS NULL AND (${owner ?? null}::text IS NULL OR owner = ${owner ?? null}::text)
        AND (id = ANY(${ids}::uuid[]) OR external_id = ANY(${externalIds}::text[]))
      RETURNING ${DELETED_COLUMNS}`;
  }

  /** Hides every image of one owner at once (the first step of purging the owner). */
  markOwnerDeleted(owner: string): Promise<DeletedRow[]> {
    return this.db.$queryRaw<DeletedRow[]>`
      UPDATE images SET deleted_at = now() WHERE owner = ${owner} AND deleted_at IS NULL RETURNING ${DELETED_COLUMNS}`;
  }

  /** Rows marked deleted whose purge has not finished (an outage or a crash came in between). */
  deletedAwaitingPurge(take = 1000): Promise<DeletedRow[]> {
    return this.db.image.findMany({ where: { deletedAt: { not: null } }, select: { id: true, externalId: true, owner: true, segmentCount: true }, take });
  }

  /**
   * The last step of a delete: the rows go, and their cached captions with them (cascade). A row leaves a
   * tombstone while a job of its owner asked for before the delete is unfinished: that job may hold the bytes
   * unread (an upload knows a photo only by them) and must not write the photo again. Tombstones no such job
   * is left for go with each purge.
   */
  async removeDeleted(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const askedBefore = (t: Prisma.Sql) => Prisma.sql`
      EXISTS (SELECT 1 FROM ingest_jobs j WHERE j.owner = ${t}.owner AND j.state IN ('queued', 'running') AND j.created_at <= ${t}.deleted_at)`;
    await this.db.$executeRaw`
      WITH gone AS (
        DELETE FROM images i WHERE i.id = ANY(${[...ids]}::uuid[]) AND i.deleted_at IS NOT NULL RETURNING i.id, i.owner, i.deleted_at
      ),
      kept AS (
        INSERT INTO image_tombstones (id, owner, deleted_at) SELECT g.id, g.owner, g.deleted_at FROM gone g WHERE ${askedBefore(Prisma.sql`g`)}
        ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, deleted_at = excluded.deleted_at
        RETURNING id
      )
      DELETE FROM image_tombstones t WHERE t.id NOT IN (SELECT id FROM kept) AND NOT ${askedBefore(Prisma.sql`t`)}`;
  }

  /** Every row's id and content hash, page by page (the one-time move of derivative files to per-image names). */
  async *contentKeys(pageSize = 1000): AsyncIterable<Pick<ImageRow, 'id' | 'sha256'>[]> {
    let cursor: string | undefined;
    for (;;) {
      const page = await this.db.image.findMany({
        select: { id: true, sha256: true },
        orderBy: { id: 'asc' },
        take: pageSize,
        ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}),
      });
      if (page.length === 0) return;
      yield page;
      cursor = page[page.length - 1]!.id;
    }
  }

  /** Images whose vector another pack made or that are not known to be stored (modelPack null). */
  staleForPack(packKey: string): Promise<Pick<ImageRow, 'id'>[]> {
    return this.db.image.findMany({
      where: { OR: [{ modelPack: { not: packKey } }, { modelPack: null }], state: { not: 'failed' }, deletedAt: null },
      select: { id: true },
    });
  }

  /** Every live row's id, state and pack, for reconciling with the vector store (deleted rows count as gone). */
  allStates(): Promise<Pick<ImageRow, 'id' | 'state' | 'modelPack' | 'segmentCount'>[]> {
    return this.db.image.findMany({ where: { deletedAt: null }, select: { id: true, state: true, modelPack: true, segmentCount: true } });
  }

  /** Marks images for re-embedding: pending, with no pack known to have stored their vector. */
  async requeue(ids: readonly string[]): Promise<void> {
    if (ids.length) await this.db.image.updateMany({ where: { id: { in: [...ids] } }, data: { state: 'pending', modelPack: null } });
  }

  ownedBy(owner: string): Promise<Pick<ImageRow, 'id' | 'source'>[]> {
    return this.db.image.findMany({ where: { owner, deletedAt: null }, select: { id: true, source: true } });
  }
}
