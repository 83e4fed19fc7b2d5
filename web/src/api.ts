/** Thin client for the service's HTTP API; the API key lives in localStorage. Methods and paths come from the route declarations. */
import { API_ROUTES, type RouteName } from '../../src/api/contract';
import type {
  DuplicatePage,
  ImageCaptionResponse,
  ImageDetail,
  IngestAccepted,
  JobStatusResponse,
  PlaceFacet,
  Readiness,
  SearchHit,
  SearchResponse,
} from '../../src/api/schemas/responses';

/** Types only: the shapes come from the server's response schemas, so the page cannot drift from the API. */
export type Hit = SearchHit;
export type SearchPage = SearchResponse;
export type JobStatus = JobStatusResponse;
export type { ImageDetail, DuplicatePage };
/** hybrid: by meaning and by the words in the photos; semantic: by meaning; ocr: by the words alone. */
export type SearchMode = 'hybrid' | 'semantic' | 'ocr';

export interface Filters {
  owner?: string;
  album?: string;
  takenFrom?: string;
  takenTo?: string;
  /** A country, province or city (北京, 浙江, 日本). */
  place?: string;
}

const KEY_STORAGE = 'imagesearch.apiKey';
export const getKey = () => localStorage.getItem(KEY_STORAGE) ?? '';
export const setKey = (k: string) => localStorage.setItem(KEY_STORAGE, k.trim());

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface CallOptions {
  params?: Record<string, string>;
  query?: Record<string, string>;
  json?: unknown;
  form?: FormData;
}

/** Calls a declared route: its method and path from src/api/contract, parameters filled in. */
async function call<T>(route: RouteName, o: CallOptions = {}): Promise<T> {
  const { method, path } = API_ROUTES[route];
  const filled = path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(o.params?.[name] ?? ''));
  const query = o.query && Object.keys(o.query).length ? `?${new URLSearchParams(o.query).toString()}` : '';
  const res = await fetch(`${filled}${query}`, {
    method: method.toUpperCase(),
    headers: { authorization: `Bearer ${getKey()}`, ...(o.json !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: o.form ?? (o.json !== undefined ? JSON.stringify(o.json) : undefined),
  });
  const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
  // Readiness answers 503, with its body, while the service is not ready.
  if (!res.ok && route !== 'ready') throw new ApiError(res.status, body.error?.message ?? `HTTP ${res.status}`);
  return body as T;
}

export type ModelStatus = Readiness['checks']['model'];

/** The readiness check's model part: a warning when the pack is the generated test pack, the real one's download. */
export async function modelStatus(): Promise<ModelStatus> {
  return (await call<Readiness>('ready')).checks.model;
}

/** Drops empty filter fields; dates (yyyy-mm-dd) go as picked, the API reads each as its whole day. */
export function cleanFilters(f: Filters): Filters {
  const out: Filters = {};
  if (f.owner?.trim()) out.owner = f.owner.trim();
  if (f.album?.trim()) out.album = f.album.trim();
  if (f.takenFrom) out.takenFrom = f.takenFrom;
  if (f.takenTo) out.takenTo = f.takenTo;
  if (f.place?.trim()) out.place = f.place.trim();
  return out;
}

export const searchText = (query: string, filters: Filters, cursor: string | null, mode: SearchMode | '', limit = 24) =>
  call<SearchPage>('searchText', { json: { query, limit, filters: cleanFilters(filters), ...(mode ? { mode } : {}), ...(cursor ? { cursor } : {}) } });

/** Where the owner's photos were taken (each place's names), for the place filter's suggestions. */
export async function placeNamesOf(owner: string): Promise<string[]> {
  const { places } = await call<PlaceFacet>('listPlaces', { query: owner ? { owner } : {} });
  const names = places.flatMap(({ place }) => [place.city, place.province, place.country].map((p) => p && (p.zh ?? p.en)));
  return [...new Set(names.filter((n): n is string => Boolean(n)))];
}

export const getImage = (id: string) => call<ImageDetail>('getImage', { params: { id } });

/** One owner's near-duplicate groups (the owner is required with an operator key). */
export const listDuplicates = (owner: string, cursor: string | null, limit = 20) =>
  call<DuplicatePage>('listDuplicates', { query: { owner, limit: String(limit), ...(cursor ? { cursor } : {}) } });

export const dismissDuplicates = (owner: string, id: string) =>
  call<{ id: string; dismissed: true }>('dismissDuplicates', { params: { id }, query: { owner } });

/** Like an indexed image, or like one frame of a video (`segment`). */
export const searchSimilar = (imageId: string, filters: Filters, limit = 8, segment?: number) =>
  call<SearchPage>('searchImage', { json: { imageId, ...(segment !== undefined ? { segment } : {}), limit, filters: cleanFilters(filters) } });

export function searchByUpload(file: File, filters: Filters, limit = 24): Promise<SearchPage> {
  const form = new FormData();
  form.append('image', file);
  form.append('limit', String(limit));
  form.append('filters', JSON.stringify(cleanFilters(filters)));
  return call<SearchPage>('searchImage', { form });
}

export const getCaption = (id: string) => call<ImageCaptionResponse>('getCaption', { params: { id } });

export function startIngest(input: { owner: string; albums: string[]; folder?: string; urls?: string[]; files?: File[] }): Promise<IngestAccepted> {
  if (input.files?.length) {
    const form = new FormData();
    if (input.owner) form.append('owner', input.owner);
    form.append('albums', JSON.stringify(input.albums));
    for (const f of input.files) form.append('files', f);
    return call('ingest', { form });
  }
  const { files: _files, ...rest } = input;
  return call('ingest', { json: { ...rest, owner: rest.owner || undefined } });
}

export const jobStatus = (id: string) => call<JobStatus>('getJob', { params: { id } });
