import type { SearchMode, SearchResult, SearchService } from '../../search/searchService';
import type { TextCorpus } from '../../search/textCorpus';
import { classify } from '../../search/zeroShot';
import { AppError } from '../../errors/appError';
import type { searchRoutes } from '../contract/search';
import { queryImageVector } from '../queryImage';
import type { Handlers } from '../router';
import { encodeCursor } from '../schemas/requests';

/** Turns ranked hits into response objects (URLs, optional captions). */
export type HitDecorator = (result: SearchResult, opts: { caption: boolean }) => Promise<unknown[]>;

export interface SearchHandlerDeps {
  search: SearchService;
  texts: TextCorpus;
  decorate: HitDecorator;
  defaultMode: SearchMode;
  /** The zone dates in queries are read in when the request names none: the owner's, else DEFAULT_TIME_ZONE. */
  timeZoneOf: (owner: string | undefined) => Promise<string>;
}

function page(p: { limit: number; offset?: number | undefined; cursor?: number | undefined }) {
  if (p.offset !== undefined && p.cursor !== undefined) throw new AppError('validation_error', 'give either offset or cursor, not both');
  return { limit: p.limit, offset: p.cursor ?? p.offset ?? 0 };
}

export function searchHandlers(d: SearchHandlerDeps): Handlers<typeof searchRoutes> {
  const respond = async (result: SearchResult, start: number, opts: { caption: boolean }) => ({
    model: result.model,
    hits: await d.decorate(result, opts),
    noGoodMatch: result.noGoodMatch,
    nextCursor: result.nextOffset === null ? null : encodeCursor(result.nextOffset),
    tookMs: Math.round(performance.now() - start),
  });
  return {
    searchText: async ({ body, owner }) => {
      const start = performance.now();
      const mode = body.mode ?? d.defaultMode;
      const alsoLike = body.imageId ? { imageId: body.imageId, owner, weight: body.imageWeight } : undefined;
      const timeZone = async () => body.timeZone ?? d.timeZoneOf(owner);
      const result = await d.search.byText(body.query, body.filters, page(body), mode, {
        exclude: body.exclude,
        alsoLike,
        timeZone,
        readDates: body.readDates,
        readPlaces: body.readPlaces,
      });
      return { query: body.query, mode, parsed: result.parsed, ...(await respond(result, start, { caption: body.caption })) };
    },
    searchImage: async ({ req, body, owner }) => {
      const start = performance.now();
      const vector = await queryImageVector(req, d.search, body, owner);
      const result = await d.search.byVector(vector, body.filters, page(body), body.imageId ? [body.imageId] : undefined);
      return respond(result, start, { caption: body.caption });
    },
    retrieveText: async ({ req, body, owner }) => {
      const start = performance.now();
      const vector = await queryImageVector(req, d.search, body, owner);
      const hits = await d.texts.retrieve(vector, owner, body.limit);
      return { hits, tookMs: Math.round(performance.now() - start) };
    },
    classify: async ({ req, body, owner }) => {
      const query = await queryImageVector(req, d.search, body, owner);
      // The labels are encoded by the pack that made the image's vector.
      const labels = await classify(query.model.pack.text, query.vector, body.labels, body.template);
      return { labels: labels.slice(0, body.limit ?? labels.length) };
    },
  };
}
