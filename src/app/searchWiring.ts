import { AutoTagger } from '../autotags/autoTagger';
import { TagCaptioner } from '../autotags/tagCaptioner';
import type { Config } from '../config/env';
import type { Repositories } from '../db/repositories';
import type { DecodeLimits } from '../images/decode';
import { DecodePool } from '../images/decodePool';
import type { DerivativeStore } from '../images/derivativeStore';
import type { ActiveModel } from '../packs/activeModel';
import { CaptionService, RetrievalCaptioner, type Captioner } from '../search/captions';
import { captionerFromConfig } from '../captioners/activeCaptioner';
import { RelevanceCalibration } from '../search/relevance';
import { SearchService } from '../search/searchService';
import { TextCorpus } from '../search/textCorpus';
import { TextInImages } from '../search/textInImages';
import { KnownPlaces } from '../places/knownPlaces';
import type { Logger } from '../util/logger';
import type { Closers } from './closers';

/** What every part of the wiring builds from. */
export interface Wiring {
  config: Config;
  log: Logger;
  repos: Repositories;
  model: ActiveModel;
  derivatives: DerivativeStore;
  decodeLimits: DecodeLimits;
  closers: Closers;
}

/** Search, the image-to-text corpus and captions, over the model in use. */
export interface SearchWiring {
  search: SearchService;
  texts: TextCorpus;
  captions: CaptionService;
  /** Scores the vocabulary for the auto-tag stage and the tag captions alike. */
  tagger: AutoTagger;
  /** The captioning model, when one is configured: the caption stage runs it over every image. */
  generative: Captioner | null;
  /** Which places each owner has photos from; the places stage says when they change. */
  knownPlaces: KnownPlaces;
}

export function wireSearch(w: Wiring): SearchWiring {
  const { config, repos, model } = w;
  // Query images decode in their own process at normal priority: HEIC takes seconds, and ingest's decoding runs niced.
  const queryDecoder = w.closers.own(new DecodePool(1, null, config.DECODE_TIMEOUT_MS), (d) => d.close());
  // Shared with the auto-tag stage: the vocabulary's prompts are encoded once per pack, and calibrate relevance too.
  const tagger = new AutoTagger();
  const calibration = new RelevanceCalibration({
    sampleImages: async (m, n) => (await m.images.retrieve(await repos.images.sampleIndexedIds(n))).map((p) => p.vector),
    textVectors: (pack) => tagger.labels(pack),
    textVectorsReady: (pack) => tagger.hasLabels(pack),
  });
  const knownPlaces = new KnownPlaces(repos.images);
  const search = new SearchService(
    repos.images,
    model,
    queryDecoder,
    w.decodeLimits,
    config.TEXT_EMBEDDING_CACHE_SIZE,
    new TextInImages(repos.ocr, repos.images),
    config.HYBRID_FUSION,
    config.SEARCH_SEGMENT_MARGIN,
    calibration,
    knownPlaces,
  );
  const texts = new TextCorpus(repos.texts, model);
  const generative = captionerFromConfig(config, w.derivatives);
  const captioner =
    generative ??
    new RetrievalCaptioner(
      texts,
      (id) => search.vectorOf(id),
      () => model.current.pack.key,
    );
  const byTags = new TagCaptioner(
    tagger,
    () => model.current.pack,
    (id) => search.vectorOf(id),
  );
  const captions = new CaptionService(repos.texts, captioner, config.CAPTION_TIMEOUT_MS, w.log.child({ component: 'captions' }), byTags);
  texts.onChange = (owners) => captions.invalidate(owners);
  return { search, texts, captions, tagger, generative, knownPlaces };
}
