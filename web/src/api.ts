/** Thin client for the service's HTTP API; the API key lives in localStorage. */
import type {
  DuplicatePage,
  ImageCaptionResponse,
  ImageDetail,
  IngestAccepted,
  JobStatusResponse,
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

async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(path, { ...init, headers: { ...(init.headers ?? {}), authorization: `Bearer ${getKey()}` } });
  const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
  if (!res.ok) throw new ApiError(res.status, body.error?.message ?? `HTTP ${res.status}`);
  return body as T;
}

export type ModelStatus = Readiness['checks']['model'];

/** The readiness check's model part: a warning when the pack is the generated test pack, the real one's download. */
export async function modelStatus(): Promise<ModelStatus> {
  const res = await fetch('/readyz');
  return ((await res.json()) as Readiness).checks.model;
}

const json = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** Drops empty filter fields; dates (yyyy-mm-dd) go as picked, the API reads each as its whole day. */
export function cleanFilters(f: Filters): Filters {
  const out: Filters = {};
  if (f.owner?.trim()) out.owner = f.owner.trim();
  if (f.album?.trim()) out.album = f.album.trim();
  if (f.takenFrom) out.takenFrom = f.takenFrom;
  if (f.takenTo) out.takenTo = f.takenTo;
  return out;
}

export const searchText = (query: string, filters: Filters, cursor: string | null, mode: SearchMode | '', limit = 24) =>
  call<SearchPage>('/v1/search/text', json({ query, limit, filters: cleanFilters(filters), ...(mode ? { mode } : {}), ...(cursor ? { cursor } : {}) }));

export const getImage = (id: string) => call<ImageDetail>(`/v1/images/${id}`);

/** One owner's near-duplicate groups (the owner is required with an operator key). */
export const listDuplicates = (owner: string, cursor: string | null, limit = 20) =>
  call<DuplicatePage>(`/v1/duplicates?${new URLSearchParams({ owner, limit: String(limit), ...(cursor ? { cursor } : {}) }).toString()}`);

export const dismissDuplicates = (owner: string, id: string) =>
  call<{ id: string; dismissed: true }>(`/v1/duplicates/${id}/dismiss?${new URLSearchParams({ owner }).toString()}`, { method: 'POST' });

/** Like an indexed image, or like one frame of a video (`segment`). */
export const searchSimilar = (imageId: string, filters: Filters, limit = 8, segment?: number) =>
  call<SearchPage>('/v1/search/image', json({ imageId, ...(segment !== undefined ? { segment } : {}), limit, filters: cleanFilters(filters) }));

export function searchByUpload(file: File, filters: Filters, limit = 24): Promise<SearchPage> {
  const form = new FormData();
  form.append('image', file);
  form.append('limit', String(limit));
  form.append('filters', JSON.stringify(cleanFilters(filters)));
  return call<SearchPage>('/v1/search/image', { method: 'POST', body: form });
}

export const getCaption = (id: string) => call<ImageCaptionResponse>(`/v1/images/${id}/caption`);

export function startIngest(input: { owner: string; albums: string[]; folder?: string; urls?: string[]; files?: File[] }): Promise<IngestAccepted> {
  if (input.files?.length) {
    const form = new FormData();
    if (input.owner) form.append('owner', input.owner);
    form.append('albums', JSON.stringify(input.albums));
    for (const f of input.files) form.append('files', f);
    return call('/v1/admin/ingest', { method: 'POST', body: form });
  }
  const { files: _files, ...rest } = input;
  return call('/v1/admin/ingest', json({ ...rest, owner: rest.owner || undefined }));
}

export const jobStatus = (id: string) => call<JobStatus>(`/v1/admin/jobs/${id}`);
