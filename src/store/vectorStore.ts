import { AppError } from '../errors/appError';
import { distanceKm, inBox, type GeoBox, type GeoCircle, type GeoPoint } from '../util/geo';

/**
 * The vector store port. Adapters: Qdrant (`qdrantStore.ts`) and the embedded HNSW index
 * (`hnswStore.ts`); both pass `test/store/contract.ts`.
 */
export interface PointPayload {
  owner: string;
  albums: string[];
  /** Epoch milliseconds, when known. */
  takenAt?: number | undefined;
  favorite?: boolean | undefined;
  hidden?: boolean | undefined;
  archived?: boolean | undefined;
  tags?: string[] | undefined;
  autoTags?: string[] | undefined;
  /** Every name of the place it was taken (placeNames). */
  places?: string[] | undefined;
  mediaType?: 'image' | 'video' | undefined;
  camera?: string | undefined;
  location?: GeoPoint | undefined;
  /** A frame of a video, Live Photo or animated image: which asset, which frame, and the time it stands for. */
  segment?: SegmentRef | undefined;
}

export interface SegmentRef {
  asset: string;
  index: number;
  startMs: number;
  endMs: number;
}

export interface VectorPoint {
  /** A UUID: the image (or text) id in Postgres. */
  id: string;
  vector: Float32Array;
  payload: PointPayload;
}

export interface PointFilter {
  /** One owner, or any of several (e.g. an owner plus the shared "" corpus). */
  owner?: string | readonly string[] | undefined;
  album?: string | undefined;
  takenFrom?: number | undefined;
  takenTo?: number | undefined;
  favorite?: boolean | undefined;
  /** Points carrying every one of these tags. */
  tags?: readonly string[] | undefined;
  autoTags?: readonly string[] | undefined;
  /** Points taken in this country, province or city (one of their `places`). */
  place?: string | undefined;
  mediaType?: 'image' | 'video' | undefined;
  camera?: string | undefined;
  /** Points located within this distance / inside this box (points without a location never match). */
  near?: GeoCircle | undefined;
  within?: GeoBox | undefined;
  /** Leave out points marked hidden / archived (searches do unless asked otherwise). */
  excludeHidden?: boolean | undefined;
  excludeArchived?: boolean | undefined;
  /** Leave these ids out (e.g. the query image itself). */
  excludeIds?: string[] | undefined;
}

export interface SearchRequest {
  vector: Float32Array;
  limit: number;
  offset?: number;
  filter?: PointFilter;
}

export interface ScoredPoint {
  id: string;
  /** Cosine similarity in [-1, 1]. */
  score: number;
  payload: PointPayload;
}

export interface VectorCollection {
  readonly name: string;
  readonly dim: number;
  /** Insert or replace by id; idempotent. */
  upsert(points: readonly VectorPoint[]): Promise<void>;
  search(req: SearchRequest): Promise<ScoredPoint[]>;
  /** Stored points for these ids (unknown ids are left out). */
  retrieve(ids: readonly string[]): Promise<VectorPoint[]>;
  delete(ids: readonly string[]): Promise<void>;
  count(filter?: PointFilter): Promise<number>;
  /** Every stored id, in pages; used by reconcile. */
  listIds(pageSize?: number): AsyncIterable<string[]>;
}

export interface VectorStore {
  readonly kind: 'qdrant' | 'embedded';
  /** Opens (creating when missing) a cosine collection of the given dimension. */
  collection(name: string, dim: number): Promise<VectorCollection>;
  /** Throws when the store cannot serve requests. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class VectorStoreError extends AppError {
  constructor(message: string) {
    super('vector_store_unavailable', message);
  }
}

export function ownerList(owner: string | readonly string[]): readonly string[] {
  return typeof owner === 'string' ? [owner] : owner;
}

export function matchesFilter(p: PointPayload, f: PointFilter | undefined): boolean {
  if (!f) return true;
  if (f.owner !== undefined && !ownerList(f.owner).includes(p.owner)) return false;
  if (f.album !== undefined && !p.albums.includes(f.album)) return false;
  if (f.takenFrom !== undefined && (p.takenAt === undefined || p.takenAt < f.takenFrom)) return false;
  if (f.takenTo !== undefined && (p.takenAt === undefined || p.takenAt > f.takenTo)) return false;
  if (f.favorite !== undefined && (p.favorite ?? false) !== f.favorite) return false;
  if (f.tags?.some((t) => !(p.tags ?? []).includes(t))) return false;
  if (f.autoTags?.some((t) => !(p.autoTags ?? []).includes(t))) return false;
  if (f.place !== undefined && !(p.places ?? []).includes(f.place)) return false;
  if (f.mediaType !== undefined && (p.mediaType ?? 'image') !== f.mediaType) return false;
  if (f.camera !== undefined && p.camera !== f.camera) return false;
  if (f.near && (!p.location || distanceKm(p.location, f.near) > f.near.radiusKm)) return false;
  if (f.within && (!p.location || !inBox(p.location, f.within))) return false;
  if (f.excludeHidden && p.hidden) return false;
  if (f.excludeArchived && p.archived) return false;
  return true;
}

/** Collection names must be safe as Qdrant names and as directory names. */
export function collectionName(prefix: string, packKey: string): string {
  return `${prefix}${packKey}`.replace(/[^a-zA-Z0-9_-]/g, '_');
}
