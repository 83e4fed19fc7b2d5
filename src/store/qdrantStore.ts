import { QdrantClient } from '@qdrant/js-client-rest';
import {
  VectorStoreError,
  type PointFilter,
  type PointPayload,
  type SegmentRef,
  type ScoredPoint,
  type SearchRequest,
  type VectorCollection,
  type PayloadUpdate,
  type VectorPoint,
  type VectorStore,
} from './vectorStore';
import type { GeoBox, GeoPoint } from '../util/geo';

export interface QdrantSettings {
  url: string;
  apiKey?: string | undefined;
  m: number;
  efConstruction: number;
  efSearch: number;
  upsertBatch: number;
  timeoutMs: number;
}

type Condition = Record<string, unknown>;

export function toQdrantFilter(f: PointFilter | undefined): { must: Condition[]; must_not: Condition[] } | undefined {
  if (!f) return undefined;
  const must: Condition[] = [];
  if (typeof f.owner === 'string') must.push({ key: 'owner', match: { value: f.owner } });
  else if (f.owner !== undefined) must.push({ key: 'owner', match: { any: [...f.owner] } });
  if (f.album !== undefined) must.push({ key: 'albums', match: { value: f.album } });
  if (f.takenFrom !== undefined || f.takenTo !== undefined) {
    must.push({ key: 'takenAt', range: { gte: f.takenFrom, lte: f.takenTo } });
  }
  if (f.favorite !== undefined) must.push({ key: 'favorite', match: { value: f.favorite } });
  for (const tag of f.tags ?? []) must.push({ key: 'tags', match: { value: tag } });
  for (const tag of f.autoTags ?? []) must.push({ key: 'autoTags', match: { value: tag } });
  if (f.place !== undefined) must.push({ key: 'places', match: { value: f.place } });
  if (f.mediaType !== undefined) must.push({ key: 'mediaType', match: { value: f.mediaType } });
  if (f.camera !== undefined) must.push({ key: 'camera', match: { value: f.camera } });
  if (f.near) must.push({ key: 'location', geo_radius: { center: { lat: f.near.lat, lon: f.near.lon }, radius: f.near.radiusKm * 1000 } });
  if (f.within) must.push(...qdrantBoxes(f.within));
  const must_not: Condition[] = f.excludeIds?.length ? [{ has_id: f.excludeIds }] : [];
  if (f.excludeHidden) must_not.push({ key: 'hidden', match: { value: true } });
  if (f.excludeArchived) must_not.push({ key: 'archived', match: { value: true } });
  return must.length || must_not.length ? { must, must_not } : undefined;
}

/** Qdrant boxes do not cross the antimeridian: such a box is asked as the union of its two halves. */
function qdrantBoxes(b: GeoBox): Condition[] {
  const box = (west: number, east: number) => ({
    key: 'location',
    geo_bounding_box: { top_left: { lat: b.north, lon: west }, bottom_right: { lat: b.south, lon: east } },
  });
  return b.west <= b.east ? [box(b.west, b.east)] : [{ should: [box(b.west, 180), box(-180, b.east)] }];
}

function isGeoPoint(v: unknown): v is GeoPoint {
  return typeof v === 'object' && v !== null && typeof (v as GeoPoint).lat === 'number' && typeof (v as GeoPoint).lon === 'number';
}

function toPayload(raw: Record<string, unknown> | null | undefined): PointPayload {
  const takenAt = raw?.takenAt;
  return {
    owner: typeof raw?.owner === 'string' ? raw.owner : '',
    albums: Array.isArray(raw?.albums) ? raw.albums.map(String) : [],
    takenAt: typeof takenAt === 'number' ? takenAt : undefined,
    favorite: raw?.favorite === true,
    hidden: raw?.hidden === true,
    archived: raw?.archived === true,
    tags: Array.isArray(raw?.tags) ? raw.tags.map(String) : [],
    autoTags: Array.isArray(raw?.autoTags) ? raw.autoTags.map(String) : [],
    places: Array.isArray(raw?.places) ? raw.places.map(String) : [],
    mediaType: raw?.mediaType === 'video' ? 'video' : 'image',
    camera: typeof raw?.camera === 'string' ? raw.camera : undefined,
    location: isGeoPoint(raw?.location) ? { lat: raw.location.lat, lon: raw.location.lon } : undefined,
    segment: isSegment(raw?.segment)
      ? { asset: raw.segment.asset, index: raw.segment.index, startMs: raw.segment.startMs, endMs: raw.segment.endMs }
      : undefined,
  };
}

function isSegment(v: unknown): v is SegmentRef {
  const s = v as Partial<SegmentRef> | null | undefined;
  return typeof s?.asset === 'string' && typeof s.index === 'number' && typeof s.startMs === 'number' && typeof s.endMs === 'number';
}

/** Absent values are left out rather than stored as null: Qdrant's range and geo conditions skip missing keys. */
function fromPayload(p: PointPayload): Record<string, unknown> {
  const flags = {
    favorite: p.favorite ?? false,
    hidden: p.hidden ?? false,
    archived: p.archived ?? false,
    tags: p.tags ?? [],
    autoTags: p.autoTags ?? [],
    places: p.places ?? [],
    mediaType: p.mediaType ?? 'image',
  };
  const optional = { takenAt: p.takenAt, camera: p.camera, location: p.location, segment: p.segment };
  return { owner: p.owner, albums: p.albums, ...flags, ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)) };
}

async function wrap<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const err = e as Error & { status?: number; data?: { status?: { error?: string } } };
    const detail = err.data?.status?.error ?? err.message;
    throw new VectorStoreError(`qdrant ${what} failed: ${detail}`);
  }
}

class QdrantCollection implements VectorCollection {
  constructor(
    private readonly client: QdrantClient,
    readonly name: string,
    readonly dim: number,
    private readonly settings: QdrantSettings,
  ) {}

  async upsert(points: readonly VectorPoint[]): Promise<void> {
    for (let i = 0; i < points.length; i += this.settings.upsertBatch) {
      const batch = points.slice(i, i + this.settings.upsertBatch).map((p) => {
        if (p.vector.length !== this.dim) throw new VectorStoreError(`point ${p.id} has ${p.vector.length} dims, collection ${this.name} has ${this.dim}`);
        return { id: p.id, vector: Array.from(p.vector), payload: fromPayload(p.payload) };
      });
      await wrap('upsert', () => this.client.upsert(this.name, { wait: true, points: batch }));
    }
  }

  async setPayload(points: readonly PayloadUpdate[]): Promise<void> {
    for (let i = 0; i < points.length; i += this.settings.upsertBatch) {
      // Each point by a filter on its id, not by the id: an id not stored then matches nothing, where it would fail the batch.
      const operations = points.slice(i, i + this.settings.upsertBatch).map((p) => ({
        overwrite_payload: { payload: fromPayload(p.payload), filter: { must: [{ has_id: [p.id] }] } },
      }));
      await wrap('setPayload', () => this.client.batchUpdate(this.name, { wait: true, operations }));
    }
  }

  async search(req: SearchRequest): Promise<ScoredPoint[]> {
    if (req.vector.length !== this.dim) throw new VectorStoreError(`query has ${req.vector.length} dims, collection ${this.name} has ${this.dim}`);
    if (req.limit === 0) return [];
    const res = await wrap('query', () =>
      this.client.query(this.name, {
        query: Array.from(req.vector),
        filter: toQdrantFilter(req.filter),
        limit: req.limit,
        offset: req.offset ?? 0,
        with_payload: true,
        params: { hnsw_ef: Math.max(this.settings.efSearch, req.limit + (req.offset ?? 0)) },
      }),
    );
    return res.points.map((p) => ({ id: String(p.id), score: p.score, payload: toPayload(p.payload) }));
  }

  async retrieve(ids: readonly string[]): Promise<VectorPoint[]> {
    if (ids.length === 0) return [];
    const res = await wrap('retrieve', () => this.client.retrieve(this.name, { ids: [...ids], with_payload: true, with_vector: true }));
    return res.map((p) => ({ id: String(p.id), vector: Float32Array.from(p.vector as number[]), payload: toPayload(p.payload) }));
  }

  async payloads(ids: readonly string[]): Promise<Map<string, PointPayload>> {
    if (ids.length === 0) return new Map();
    const res = await wrap('retrieve', () => this.client.retrieve(this.name, { ids: [...ids], with_payload: true, with_vector: false }));
    return new Map(res.map((p) => [String(p.id), toPayload(p.payload)]));
  }

  async delete(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await wrap('delete', () => this.client.delete(this.name, { wait: true, points: [...ids] }));
  }

  async count(filter?: PointFilter): Promise<number> {
    const res = await wrap('count', () => this.client.count(this.name, { filter: toQdrantFilter(filter), exact: true }));
    return res.count;
  }

  async *listIds(pageSize = 1000): AsyncIterable<string[]> {
    let offset: string | number | undefined;
    do {
      const page = await wrap('scroll', () => this.client.scroll(this.name, { limit: pageSize, offset, with_payload: false, with_vector: false }));
      if (page.points.length) yield page.points.map((p) => String(p.id));
      const next = page.next_page_offset;
      offset = typeof next === 'string' || typeof next === 'number' ? next : undefined;
    } while (offset !== undefined);
  }
}

/** is_tenant lets Qdrant lay out each owner's points together, as owner filters every query. */
const PAYLOAD_INDEXES: [string, 'keyword' | 'integer' | 'geo' | { type: 'keyword'; is_tenant: true }][] = [
  ['owner', { type: 'keyword', is_tenant: true }],
  ['albums', 'keyword'],
  ['tags', 'keyword'],
  ['autoTags', 'keyword'],
  ['places', 'keyword'],
  ['takenAt', 'integer'],
  ['camera', 'keyword'],
  ['location', 'geo'],
];

export class QdrantStore implements VectorStore {
  readonly kind = 'qdrant' as const;
  private readonly client: QdrantClient;

  constructor(private readonly settings: QdrantSettings) {
    this.client = new QdrantClient({ url: settings.url, apiKey: settings.apiKey, timeout: settings.timeoutMs, checkCompatibility: false });
  }

  async collection(name: string, dim: number): Promise<VectorCollection> {
    const { exists } = await wrap('collectionExists', () => this.client.collectionExists(name));
    if (!exists) {
      await wrap('createCollection', () =>
        this.client.createCollection(name, {
          vectors: { size: dim, distance: 'Cosine' },
          hnsw_config: { m: this.settings.m, ef_construct: this.settings.efConstruction, payload_m: this.settings.m },
        }),
      ).catch(async (e: Error) => {
        // Another instance may have created it between our check and create.
        if (!(await this.client.collectionExists(name)).exists) throw e;
      });
    }
    // Every open, not only at creation: indexes added by a later version reach existing collections (creating one is idempotent).
    for (const [field, schema] of PAYLOAD_INDEXES) {
      await wrap('createPayloadIndex', () => this.client.createPayloadIndex(name, { wait: true, field_name: field, field_schema: schema }));
    }
    const info = await wrap('getCollection', () => this.client.getCollection(name));
    const vectors = info.config.params.vectors as { size?: number } | undefined;
    if (vectors?.size !== undefined && vectors.size !== dim) {
      throw new VectorStoreError(`qdrant collection ${name} holds ${vectors.size}-d vectors, not ${dim}-d`);
    }
    return new QdrantCollection(this.client, name, dim, this.settings);
  }

  async ping(): Promise<void> {
    await wrap('health check', () => this.client.getCollections());
  }

  async close(): Promise<void> {
    // The REST client holds no connections that need closing.
  }
}
