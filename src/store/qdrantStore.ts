import { QdrantClient } from '@qdrant/js-client-rest';
import {
  VectorStoreError,
  type PointFilter,
  type PointPayload,
  type ScoredPoint,
  type SearchRequest,
  type VectorCollection,
  type VectorPoint,
  type VectorStore,
} from './vectorStore';

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
  const must_not: Condition[] = f.excludeIds?.length ? [{ has_id: f.excludeIds }] : [];
  if (f.excludeHidden) must_not.push({ key: 'hidden', match: { value: true } });
  if (f.excludeArchived) must_not.push({ key: 'archived', match: { value: true } });
  return must.length || must_not.length ? { must, must_not } : undefined;
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
  };
}

function fromPayload(p: PointPayload): Record<string, unknown> {
  const flags = { favorite: p.favorite ?? false, hidden: p.hidden ?? false, archived: p.archived ?? false, tags: p.tags ?? [] };
  return p.takenAt === undefined ? { owner: p.owner, albums: p.albums, ...flags } : { owner: p.owner, albums: p.albums, takenAt: p.takenAt, ...flags };
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
      // is_tenant lets Qdrant lay out each owner's points together, as owner filters every query.
      await wrap('createPayloadIndex', () =>
        this.client.createPayloadIndex(name, { wait: true, field_name: 'owner', field_schema: { type: 'keyword', is_tenant: true } }),
      );
      await wrap('createPayloadIndex', () => this.client.createPayloadIndex(name, { wait: true, field_name: 'albums', field_schema: 'keyword' }));
      await wrap('createPayloadIndex', () => this.client.createPayloadIndex(name, { wait: true, field_name: 'takenAt', field_schema: 'integer' }));
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
