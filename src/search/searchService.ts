import { randomUUID } from 'node:crypto';
import { AppError } from '../errors/appError';
import type { ImageRepository, ImageRow, ImageVisibility } from '../db/repositories';
import type { DecodeLimits } from '../images/decode';
import type { DecodePool } from '../images/decodePool';
import type { ModelInUse, ModelSource } from '../packs/activeModel';
import type { PointFilter } from '../store/vectorStore';
import { bestStretches, groupByAsset, type AssetGroup } from './assetRanking';
import { LruCache } from '../util/lru';
import { placeSchema, type ImageHit, type ImageRecord } from './imageRecord';
import { segmentPointId } from '../util/ids';
import { normalizeQuery } from './textQuery';
import { splitExclusions } from '../ocr/textTokens';
import { parseQueryDates } from './queryDates';
import { parseQueryPlace, type QueryPlace } from '../places/queryPlaces';
import type { KnownPlaces } from '../places/knownPlaces';
import { dot } from '../models/vectorMath';
import { fuse, type FusionMethod } from './rankFusion';
import type { ImageText, TextInImages, TextMatch } from './textInImages';
import { GOOD_MATCH, lexicalRelevance, semanticRelevance, type RelevanceCalibration, type RelevanceScale } from './relevance';

/** The same filters for search and for listings; hidden and archived images only when asked for. */
export type SearchFilters = ImageVisibility;

/** semantic: the image encoder alone; ocr: the words read in images alone; hybrid: both, fused. */
export type SearchMode = 'semantic' | 'ocr' | 'hybrid';

export interface Page {
  limit: number;
  offset: number;
}

/** How a text query was read: what was searched, what it excluded, and the dates it named. */
export interface ParsedQuery {
  text: string;
  excluded: string[];
  dates: { phrase: string; from: string; to: string } | null;
  /** The place the words named and the filter it became, when the owner has photos taken there. */
  place: { phrase: string; place: string } | null;
}

export interface TextQueryOptions {
  /** Concepts the photos must not show or hold in their words (beside "-word" in the query). */
  exclude?: readonly string[] | undefined;
  /** An indexed image (of `owner`, when given) the photos should also look like, and its share of the query (0..1). */
  alsoLike?: { imageId: string; owner: string | undefined; weight: number } | undefined;
  /**
   * The IANA zone the query's dates ("昨天", "上个月") are read in (UTC when not given): asked only when the words
   * name a date, so a search without one costs no settings lookup.
   */
  timeZone?: (() => Promise<string>) | undefined;
  /** False: dates in the words are searched as words. */
  readDates?: boolean | undefined;
  /** False: place names in the words are searched as words. */
  readPlaces?: boolean | undefined;
  now?: Date;
}

export interface SearchResult {
  /** Text queries: how the query was read. */
  parsed?: ParsedQuery;
  hits: ImageHit[];
  /** No hit of this page is a good match (relevance below GOOD_MATCH), or there is none. */
  noGoodMatch: boolean;
  /** Offset of the next page, or null when this page was the last. */
  nextOffset: number | null;
  /** name@version of the pack that ranked the hits. */
  model: string;
}

/** A query's vector and the model that made it: it is compared only with that model's vectors. */
export interface QueryVector {
  vector: Float32Array;
  model: ModelInUse;
}

export class NotFound extends AppError {
  constructor(message: string) {
    super('not_found', message);
  }
}

/** Deepest result list one search may ask the store for (offset + limit is at most 10 100 assets). */
const MAX_SEARCH_DEPTH = 40_000;

export function toImageRecord(i: ImageRow): ImageRecord {
  return {
    id: i.id,
    owner: i.owner,
    externalId: i.externalId,
    sha256: i.sha256,
    source: i.source,
    sourceKind: i.sourceKind,
    mime: i.mime,
    width: i.width,
    height: i.height,
    bytes: i.bytes,
    albums: i.albums,
    favorite: i.favorite,
    hidden: i.hidden,
    archived: i.archived,
    tags: i.tags,
    autoTags: i.autoTags.map((label, k) => ({ label, score: i.autoTagScores[k] ?? 0 })),
    takenAt: i.takenAt?.toISOString() ?? null,
    mediaType: i.mediaType,
    durationMs: i.durationMs,
    videoCodec: i.videoCodec,
    segmentCount: i.segmentCount,
    camera: i.camera,
    location: i.latitude !== null && i.longitude !== null ? { lat: i.latitude, lon: i.longitude } : null,
    place: placeSchema.nullable().catch(null).parse(i.place),
    ingestedAt: i.ingestedAt.toISOString(),
    modelPack: i.modelPack,
    state: i.state,
  };
}

function toPointFilter(f: SearchFilters, excludeIds?: string[]): PointFilter {
  return {
    owner: f.owner,
    album: f.album,
    takenFrom: f.takenFrom?.getTime(),
    takenTo: f.takenTo?.getTime(),
    favorite: f.favorite,
    tags: f.tags,
    autoTags: f.autoTags,
    place: f.place,
    mediaType: f.mediaType,
    camera: f.camera,
    near: f.near,
    within: f.within,
    excludeHidden: !f.includeHidden,
    excludeArchived: !f.includeArchived,
    excludeIds,
  };
}

/** Candidates each half of a hybrid search brings to the fusion (Elasticsearch's rank_window_size). */
const FUSION_WINDOW = 50;

/**
 * Text-to-image and image-to-image search: encode, ask the vector store, then keep only hits
 * that Postgres knows as indexed for the same owner (the vector store alone is never trusted
 * for tenancy or metadata).
 */
export class SearchService {
  private readonly textCache: LruCache<string, Float32Array>;

  constructor(
    private readonly images: ImageRepository,
    private readonly model: ModelSource,
    private readonly decoder: Pick<DecodePool, 'decode' | 'warm'>,
    private readonly decodeLimits: DecodeLimits,
    textCacheSize: number,
    private readonly textInImages: TextInImages,
    private readonly fusion: FusionMethod = 'rrf',
    /** How far below a video's best frame another frame may score and still be listed as a match. */
    private readonly segmentMargin = 0.05,
    /** Learns what a cosine means for the pack in use; without it, relevance is the cosine itself. */
    private readonly calibration: RelevanceCalibration | null = null,
    /** Whether an owner has photos at a place. */
    private readonly places: Pick<KnownPlaces, 'has'>,
  ) {
    this.textCache = new LruCache(textCacheSize);
  }

  /**
   * Readies searching before the first search: starts query-image decoding, and runs two searches of
   * `mode`, one across every owner (whose hits are looked up) and one for an owner nobody is. They load
   * and compile what a first real search would (jieba's dictionary, Prisma's queries, modules): a fresh
   * process's first search took 640 ms here, 75-110 after. The service does; CLIs need not pay for it.
   */
  async warm(mode: SearchMode): Promise<void> {
    this.decoder.warm();
    for (const owner of [undefined, `warm-up-${randomUUID()}`]) await this.byText('预热', { owner }, { limit: 1, offset: 0 }, mode);
  }

  get cacheStats(): { hits: number; misses: number; size: number } {
    return { hits: this.textCache.hits, misses: this.textCache.misses, size: this.textCache.size };
  }

  async embedText(query: string): Promise<QueryVector> {
    const model = this.model.current;
    const text = normalizeQuery(query);
    // Per pack: a pack that replaces another must not answer with its vectors.
    const key = `${model.pack.key}\0${text}`;
    const cached = this.textCache.get(key);
    if (cached) return { vector: cached, model };
    const [v] = await model.pack.text.encode([text]);
    this.textCache.set(key, v!);
    return { vector: v!, model };
  }

  async embedImage(data: Buffer): Promise<QueryVector> {
    const model = this.model.current;
    const decoded = await this.decoder.decode(data, model.pack.image.preprocessing, this.decodeLimits);
    const [v] = await model.pack.image.encode([decoded.tensor]);
    return { vector: v!, model };
  }

  /**
   * Text to image. Every hit says why it matched: its semantic score, its text score and the OCR line
   * with the matched words. Hybrid pages are cut from the fused ranking of both halves, each fetched
   * to the fusion window or the page's end, whichever is deeper, so paging is stable. Exclusions ("-word" in
   * the query, or `exclude`) drop the hits that show the concept (a good match for it) or hold it in their words.
   */
  async byText(query: string, filters: SearchFilters, page: Page, mode: SearchMode = 'semantic', options: TextQueryOptions = {}): Promise<SearchResult> {
    const split = splitExclusions(query);
    const excluded = [...split.excluded, ...(options.exclude ?? [])];
    // Dates the request gives win over dates in the words; then the words are searched as they are.
    const { text, dates } =
      filters.takenFrom || filters.takenTo || options.readDates === false
        ? { text: split.text, dates: null }
        : await this.readDates(split.text, options.now ?? new Date(), options.timeZone);
    const placed = filters.place === undefined && options.readPlaces !== false ? await this.placeIn(text, filters.owner) : null;
    const words = placed ? placed.text : text;
    // A query that is only a date ("去年夏天") or a place ("杭州") searches its phrase too: a summer looks like one.
    const searched = words || dates?.phrase || placed?.phrase || '';
    const parsed: ParsedQuery = {
      text: searched,
      excluded,
      dates: dates && { phrase: dates.phrase, from: dates.from.toISOString(), to: dates.to.toISOString() },
      place: placed && { phrase: placed.phrase, place: placed.place },
    };
    if (!searched) return { hits: [], noGoodMatch: true, nextOffset: null, model: this.model.current.pack.key, parsed };
    const narrowed = { ...filters, ...(dates ? { takenFrom: dates.from, takenTo: dates.to } : {}), ...(placed ? { place: placed.place } : {}) };
    return { ...(await this.rank(searched, narrowed, page, mode, excluded, options.alsoLike)), parsed };
  }

  /** Which words name a date does not depend on the zone, only the range they name: the zone is asked once one is found. */
  private async readDates(text: string, now: Date, timeZone: TextQueryOptions['timeZone']): Promise<ReturnType<typeof parseQueryDates>> {
    const inUtc = parseQueryDates(text, now, 'UTC');
    if (!inUtc.dates || !timeZone) return inUtc;
    const zone = await timeZone();
    return zone === 'UTC' ? inUtc : parseQueryDates(text, now, zone);
  }

  /**
   * The place the words name, when the owner (or, unnamed, anyone) has photos taken there: a library without GPS
   * positions, or none there, searches the words as they are rather than find nothing.
   */
  private async placeIn(text: string, owner: string | undefined): Promise<QueryPlace | null> {
    const named = parseQueryPlace(text);
    return named && (await this.places.has(owner, named.place)) ? named : null;
  }

  private async rank(
    query: string,
    filters: SearchFilters,
    page: Page,
    mode: SearchMode,
    excluded: readonly string[],
    alsoLike: TextQueryOptions['alsoLike'],
  ): Promise<SearchResult> {
    const model = this.model.current;
    if (mode === 'semantic' && excluded.length === 0) {
      const result = await this.byVector(await this.queryVector(query, alsoLike), filters, page, undefined, 'text');
      return {
        ...result,
        hits: result.hits.map((h) => ({ ...h, match: { semanticScore: h.score, textScore: null, matchedField: null, matchedText: null, highlights: [] } })),
      };
    }
    // Both halves are ranked over the same window whatever the page size, so a page is a slice of one
    // fused ranking: with lists only as deep as the page, limit 1 and limit 10 could disagree on the first hit.
    const depth = Math.max(FUSION_WINDOW, page.offset + page.limit + 1);
    // The words' search in Postgres runs while the text encoder works, not after it.
    const [semantic, text] = await Promise.all([
      mode !== 'ocr' ? this.queryVector(query, alsoLike).then((v) => this.byVector(v, filters, { offset: 0, limit: depth }, undefined, 'text')) : null,
      mode !== 'semantic' ? this.textInImages.search(query, filters, depth, excluded) : [],
    ]);
    // The semantic half's record wins: it carries the video stretch that matched.
    const byId = new Map<string, ImageRecord>([...text.map((t) => toImageRecord(t.row)), ...(semantic?.hits ?? [])].map((r) => [r.id, r]));
    const scale = await this.scaleFor(model);
    // A hit is as good a match as its stronger half says: meaning, or the query's words where it found them.
    const relevance = (f: { semanticScore: number | null }, t: TextMatch | undefined) =>
      Math.max(f.semanticScore === null ? 0 : semanticRelevance(f.semanticScore, scale?.text ?? null), t ? lexicalRelevance(t) : 0);
    const texts = new Map(text.map((t) => [t.row.id, t]));
    const ranked =
      mode === 'hybrid'
        ? fuse(
            this.fusion,
            semantic!.hits.map((h) => ({ id: h.id, score: h.score })),
            text.map((t) => ({ id: t.row.id, score: t.score })),
          )
        : mode === 'semantic'
          ? semantic!.hits.map((h) => ({ id: h.id, score: h.score, semanticScore: h.score, textScore: null }))
          : text.map((t) => ({ id: t.row.id, score: t.score, semanticScore: null, textScore: t.score }));
    const shown = await this.showing(model, excluded, ranked, scale);
    const fused = ranked.filter((f) => shown.has(f.id));
    const hits = fused.slice(page.offset, page.offset + page.limit).map((f) => {
      const t = texts.get(f.id);
      return {
        ...byId.get(f.id)!,
        score: f.score,
        relevance: relevance(f, t),
        match: {
          semanticScore: f.semanticScore,
          textScore: f.textScore,
          matchedField: t?.field ?? null,
          matchedText: t?.matchedText ?? null,
          highlights: t?.highlights ?? [],
        },
      };
    });
    return {
      hits,
      noGoodMatch: !hits.some((h) => h.relevance >= GOOD_MATCH),
      nextOffset: fused.length > page.offset + page.limit ? page.offset + page.limit : null,
      model: semantic?.model ?? model.pack.key,
    };
  }

  /** The text's vector, or its blend with an image's (weighted, renormalised) for "like this photo, but ...". */
  private async queryVector(query: string, alsoLike: TextQueryOptions['alsoLike']): Promise<QueryVector> {
    const text = await this.embedText(query);
    if (!alsoLike) return text;
    // From the collection of the model that encoded the text: both vectors are of one pack.
    const image = await this.vectorOf(alsoLike.imageId, alsoLike.owner, 0, text.model);
    const w = alsoLike.weight;
    const blend = text.vector.map((t, i) => (1 - w) * t + w * image.vector[i]!);
    const norm = Math.hypot(...blend) || 1;
    return { vector: blend.map((x) => x / norm), model: text.model };
  }

  /**
   * The ranked ids that show none of the excluded concepts: an image is left out when it is a good match for
   * one (its relevance for that concept as a query reaches GOOD_MATCH). Words are left out by the text index.
   */
  private async showing(model: ModelInUse, excluded: readonly string[], ranked: readonly { id: string }[], scale: RelevanceScale | null): Promise<Set<string>> {
    const ids = new Set(ranked.map((r) => r.id));
    if (excluded.length === 0 || ids.size === 0) return ids;
    const concepts = await Promise.all(excluded.map((e) => this.embedText(e)));
    for (const point of await model.images.retrieve([...ids])) {
      if (concepts.some((c) => semanticRelevance(dot(c.vector, point.vector), scale?.text ?? null) >= GOOD_MATCH)) ids.delete(point.id);
    }
    return ids;
  }

  private scaleFor(model: ModelInUse): Promise<RelevanceScale | null> {
    return this.calibration ? this.calibration.scale(model) : Promise.resolve(null);
  }

  /** Vector of an indexed image, visible to `owner` when one is given. */
  async vectorOf(imageId: string, owner?: string, segment = 0, model: ModelInUse = this.model.current): Promise<QueryVector> {
    const image = await this.images.findById(imageId);
    if (!image || (owner !== undefined && image.owner !== owner)) throw new NotFound(`image ${imageId} not found`);
    if (segment > image.segmentCount) throw new NotFound(`image ${imageId} has no segment ${segment} (it has ${image.segmentCount + 1})`);
    const [point] = await model.images.retrieve([segmentPointId(imageId, segment)]);
    if (!point || image.state !== 'indexed') throw new NotFound(`image ${imageId} is not indexed yet`);
    return { vector: point.vector, model };
  }

  /**
   * Nearest assets to a vector. A video has a point per sampled frame: points are grouped by their asset,
   * each asset ranked by its best frame, so a video appears once however many of its frames match. The
   * store is asked for deeper and deeper result lists until the page is full of assets (or it runs out).
   */
  async byVector(
    { vector, model }: QueryVector,
    filters: SearchFilters,
    page: Page,
    excludeAssets?: string[],
    /** What asked: a text's vector and an image's stand against different null distributions. */
    query: 'text' | 'image' = 'image',
  ): Promise<SearchResult> {
    const wanted = page.offset + page.limit + 1;
    const filter = toPointFilter(filters, excludeAssets);
    const excluded = new Set(excludeAssets);
    let depth = wanted * 2;
    for (;;) {
      const scored = await model.images.search({ vector, limit: depth, filter });
      const groups = groupByAsset(scored).filter((g) => !excluded.has(g.asset));
      if (groups.length >= wanted || scored.length < depth || depth >= MAX_SEARCH_DEPTH) {
        // One extra asset tells whether a next page exists.
        const scale = await this.scaleFor(model);
        const unrelated = scale ? (query === 'text' ? scale.text : scale.image) : null;
        const hits = (await this.hydrate(groups.slice(page.offset, page.offset + page.limit), filters)).map((h) => ({
          ...h,
          relevance: semanticRelevance(h.score, unrelated),
        }));
        return {
          hits,
          noGoodMatch: !hits.some((h) => h.relevance >= GOOD_MATCH),
          nextOffset: groups.length > page.offset + page.limit ? page.offset + page.limit : null,
          model: model.pack.key,
        };
      }
      depth = Math.min(depth * 4, MAX_SEARCH_DEPTH);
    }
  }

  private async hydrate(groups: AssetGroup[], filters: SearchFilters): Promise<Omit<ImageHit, 'relevance'>[]> {
    // The store filtered on its payload; Postgres applies the same rules again, so a payload that
    // lags behind a change (an outage during PATCH) can cost a hit but never show a wrong one.
    const rows = await this.images.indexedByIds(
      groups.map((g) => g.asset),
      filters,
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    return groups.flatMap((g) => {
      const row = byId.get(g.asset);
      if (!row) return [];
      return [{ ...toImageRecord(row), ...bestStretches(g, this.segmentMargin) }];
    });
  }

  /** An image's record with the text OCR read in it. */
  async getImageWithText(id: string, owner?: string): Promise<ImageRecord & { text: ImageText }> {
    const row = await this.images.findById(id);
    if (!row || (owner !== undefined && row.owner !== owner)) throw new NotFound(`image ${id} not found`);
    return { ...toImageRecord(row), text: await this.textInImages.of(row) };
  }

  async getImage(id: string, owner?: string): Promise<ImageRecord> {
    const row = await this.images.findById(id);
    if (!row || (owner !== undefined && row.owner !== owner)) throw new NotFound(`image ${id} not found`);
    return toImageRecord(row);
  }
}
