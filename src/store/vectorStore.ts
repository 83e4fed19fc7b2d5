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

export type PayloadUpdate = Pick<VectorPoint, 'id' | 'payload'>;

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
  /**
   * Replaces the payloads of stored points and leaves their vectors; ids not stored are left out (none is made). A
   * change of filtered fields goes through this, not a retrieve and upsert that could write back a replaced vector.
   */
  setPayload(points: readonly PayloadUpdate[]): Promise<void>;
  search(req: SearchRequest): Promise<ScoredPoint[]>;
  /** Stored points for these ids (unknown ids are left out). */
  retrieve(ids: readonly string[]): Promise<VectorPoint[]>;
  /** Stored payloads for these ids, without their vectors (what payload checks read; unknown ids are left out). */
  payloads(ids: readonly string[]): Promise<Map<string, PointPayload>>;
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

/** The store holds as many points as it can: deleting some, or a store without the cap (Qdrant), makes room. */
export class VectorStoreFull extends AppError {
  constructor(message: string) {
    super('vector_store_full', message);
  }
}

export function ownerList(owner: string | readonly string[]): readonly string[] {
  return typeof owner === 'string' ? [owner] : owner;
}

/**
 * The filter as one test per condition it sets, made once per search: the embedded store checks it on every point a
 * search lists or meets (10 000 for one owner's search), where asking each of fifteen fields cost most of the list.
 * Payloads carry no id, so `excludeIds` is the store's to check.
 */
export function payloadTest(f: PointFilter): (p: PointPayload) => boolean {
  const tests: ((p: PointPayload) => boolean)[] = [];
  if (f.owner !== undefined) {
    const owners = new Set(ownerList(f.owner));
    tests.push((p) => owners.has(p.owner));
  }
  const { album, takenFrom, takenTo, favorite, tags, autoTags, place, mediaType, camera, near, within } = f;
  if (album !== undefined) tests.push((p) => p.albums.includes(album));
  if (takenFrom !== undefined) tests.push((p) => p.takenAt !== undefined && p.takenAt >= takenFrom);
  if (takenTo !== undefined) tests.push((p) => p.takenAt !== undefined && p.takenAt <= takenTo);
  if (favorite !== undefined) tests.push((p) => (p.favorite ?? false) === favorite);
  if (tags?.length) tests.push((p) => tags.every((t) => (p.tags ?? []).includes(t)));
  if (autoTags?.length) tests.push((p) => autoTags.every((t) => (p.autoTags ?? []).includes(t)));
  if (place !== undefined) tests.push((p) => (p.places ?? []).includes(place));
  if (mediaType !== undefined) tests.push((p) => (p.mediaType ?? 'image') === mediaType);
  if (camera !== undefined) tests.push((p) => p.camera === camera);
  if (near) tests.push((p) => !!p.location && distanceKm(p.location, near) <= near.radiusKm);
  if (within) tests.push((p) => !!p.location && inBox(p.location, within));
  if (f.excludeHidden) tests.push((p) => !p.hidden);
  if (f.excludeArchived) tests.push((p) => !p.archived);
  return (p) => {
    for (const test of tests) if (!test(p)) return false;
    return true;
  };
}

/** Collection names must be safe as Qdrant names and as directory names. */
export function collectionName(prefix: string, packKey: string): string {
  return `${prefix}${packKey}`.replace(/[^a-zA-Z0-9_-]/g, '_');
}
