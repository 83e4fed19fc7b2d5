import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { IngestService } from '../../ingest/ingestService';
import { MediaFrames } from '../../ingest/media/mediaFrames';
import { reconcile, type ReconcileReport } from '../../ingest/reconcile';
import { FolderAccess } from '../../ingest/sources/folderAccess';
import { folderScanner } from '../../ingest/watch/folderScan';
import { LibraryWatcher } from '../../ingest/watch/libraryWatcher';
import { ApiKeyService } from '../auth/apiKeys';
import type { Config } from '../config/env';
import type { Repositories } from '../db/repositories';
import { DuplicateFinder } from '../duplicates/duplicateFinder';
import { DuplicateService } from '../duplicates/duplicateService';
import { DEFAULT_DECODE_LIMITS, type DecodeLimits } from '../images/decode';
import { DecodePool } from '../images/decodePool';
import { openDerivativeStore, type DerivativeStore } from '../images/derivativeStore';
import { ImageDeletion } from '../library/imageDeletion';
import { LibraryService } from '../library/libraryService';
import { purgeOwner, type OwnerPurgeReport } from '../library/ownerPurge';
import { ActiveModel } from '../models/activeModel';
import { BackgroundPause } from '../models/backgroundPause';
import type { EncoderRun } from '../models/encoders';
import { installOptionsFromEnv } from '../models/install/fetchSettings';
import type { ModelPack } from '../models/modelPack';
import { Metrics } from '../observability/metrics';
import { OcrStage } from '../ocr/ocrStage';
import { PackSwitch } from '../packs/packSwitch';
import { ModelProvisioning } from '../packs/provisioning';
import { RawPreviews } from '../raw/rawPreview';
import type { EncoderPool } from '../remoteEncoders/encoderPool';
import type { PullEncoding } from '../remoteEncoders/pullEncoding';
import { CaptionService, GenerativeCaptioner, RetrievalCaptioner } from '../search/captions';
import { SearchService, type SearchMode } from '../search/searchService';
import { TextCorpus } from '../search/textCorpus';
import { TextInImages } from '../search/textInImages';
import type { VectorCollection, VectorStore } from '../store/vectorStore';
import type { Logger } from '../util/logger';
import { setHelperThreadsNice } from '../util/priority';
import { WebhookDispatcher } from '../webhooks/webhookDispatcher';
import { WebhookService } from '../webhooks/webhookService';
import { createVectorStore, openTextReader, videoSampler } from './adapters';
import { openDatabase } from './database';
import { ModelLoader, type LoadedModel } from './modelLoader';

export { createVectorStore } from './adapters';
export { openDatabase } from './database';

/** Everything the API and the CLI work with, built from configuration in one place. */
export interface Services {
  config: Config;
  log: Logger;
  repos: Repositories;
  store: VectorStore;
  /** The model pack in use and its collections; replaced whole when the pack changes (packs). */
  model: ActiveModel;
  /** The pack in use (model.current.pack). */
  readonly pack: ModelPack;
  /** The image collection of the pack in use (model.current.images). */
  readonly images: VectorCollection;
  /** Changes the pack without a restart; provisioning fetches the real one on a first start. */
  packs: PackSwitch<LoadedModel>;
  provisioning: ModelProvisioning;
  /** Remote encoders (ENCODER_URLS) of the pack in use, null when the local pack encodes everything. */
  readonly encoders: EncoderPool | null;
  /** The pull queue's side in this service (PULL_ENCODERS=on): workers lease ingest's batches through it. */
  pull: PullEncoding | null;
  derivatives: DerivativeStore;
  decodeLimits: DecodeLimits;
  search: SearchService;
  /** What a search that names no mode does: hybrid (meaning and the words in photos) with OCR on, else semantic. */
  searchMode: SearchMode;
  texts: TextCorpus;
  captions: CaptionService;
  ingest: IngestService;
  deletion: ImageDeletion;
  library: LibraryService;
  webhooks: WebhookService;
  duplicates: DuplicateService;
  /** Sends recorded events to their subscribers; started by the server, not by CLIs. */
  dispatcher: WebhookDispatcher;
  /** Null when OCR is off (or its models could not be loaded). */
  ocr: OcrStage | null;
  /** Keeps watched library folders in sync; started by the server, not by CLIs. */
  watcher: LibraryWatcher;
  /** Which folders of the server's disk a caller may have ingested. */
  folders: FolderAccess;
  /** Deletes everything of one owner (admin). */
  purgeOwner(owner: string): Promise<OwnerPurgeReport>;
  keys: ApiKeyService;
  metrics: Metrics;
  /** Compares Postgres with the vector store and, with `fix`, repairs them. */
  reconcile(fix: boolean): Promise<ReconcileReport>;
  close(): Promise<void>;
}

export interface ServiceHooks {
  /** Extra observer of encoder runs (benchmarks); metrics are always recorded. */
  onEncoderRun?: (run: EncoderRun) => void;
}

/** Builds every adapter and service from configuration; a failure part-way closes what was opened. */
export async function startServices(config: Config, log: Logger, hooks: ServiceHooks = {}): Promise<Services> {
  const cleanup: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const fn of cleanup.reverse()) await fn().catch((e: Error) => log.error({ err: e.message }, 'shutdown step failed'));
  };
  // Before any encoder thread starts: only the threads that exist now are Node's own helpers.
  setHelperThreadsNice(config.BACKGROUND_NICE);
  try {
    const metrics = new Metrics();
    const database = await openDatabase(config, log);
    cleanup.push(() => database.close());
    const { repos } = database;
    const keys = new ApiKeyService(repos.apiKeys, config.API_KEY_CACHE_MS);
    for (const k of await keys.narrowTenantKeys()) log.warn(k, 'a key of an owner held operator scopes: removed (admin and worker are for operator keys only)');
    const folders = new FolderAccess({ ingestRoots: config.ingestRoots, tenantRoot: config.tenantRoot }, repos.watches);

    const store = createVectorStore(config);
    cleanup.push(() => store.close());
    const loader = new ModelLoader({ config, databaseUrl: database.url, store, metrics, log, onEncoderRun: hooks.onEncoderRun });
    cleanup.push(() => loader.close());
    // The pack's real folder: a models:fetch that moves the active link later is a change to switch to.
    const first = await loader.load(await realpath(config.modelDir));
    const model = new ActiveModel(first.model);
    // Closed after ingest has stopped (cleanup runs in reverse): its last batch still encodes.
    let packs: PackSwitch<LoadedModel> | null = null;
    cleanup.push(() => (packs ? packs.close() : first.close()));
    const background = <T>(run: () => Promise<T>) => model.current.pack.gate.run('background', run);

    const dispatcher = new WebhookDispatcher(
      repos.webhooks,
      {
        timeoutMs: config.WEBHOOK_TIMEOUT_MS,
        maxAttempts: config.WEBHOOK_MAX_ATTEMPTS,
        retryBaseMs: config.WEBHOOK_RETRY_BASE_MS,
        pollMs: config.WEBHOOK_POLL_MS,
        allowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
      },
      log.child({ component: 'webhooks' }),
    );
    cleanup.push(() => dispatcher.stop());
    const derivatives = await openDerivativeStore(path.join(config.dataDir, 'derivatives'), repos.images, log);
    const reader = await openTextReader(config, log);
    if (reader) cleanup.push(() => reader.close());
    const ocrSettings = { maxSide: config.OCR_MAX_SIDE, concurrency: config.OCR_CONCURRENCY, pollMs: config.OCR_POLL_MS };
    const ocr = reader ? new OcrStage(reader, repos.ocr, derivatives, ocrSettings, metrics.onOcr, log.child({ component: 'ocr' }), background) : null;
    if (ocr) cleanup.push(() => ocr.stop());
    const decodeLimits: DecodeLimits = { ...DEFAULT_DECODE_LIMITS, maxPixels: config.MAX_IMAGE_PIXELS, tensorOversample: config.PREPROCESS_OVERSAMPLE };
    // Query images decode in their own process at normal priority: HEIC takes seconds, and ingest's decoding runs niced.
    const queryDecoder = new DecodePool(1, null, config.DECODE_TIMEOUT_MS);
    cleanup.push(() => queryDecoder.close());
    const search = new SearchService(
      repos.images,
      model,
      queryDecoder,
      decodeLimits,
      config.TEXT_EMBEDDING_CACHE_SIZE,
      new TextInImages(repos.ocr, repos.images),
      config.HYBRID_FUSION,
      config.SEARCH_SEGMENT_MARGIN,
    );
    const texts = new TextCorpus(repos.texts, model);
    const captioner = config.CAPTION_MODEL_DIR
      ? new GenerativeCaptioner(config.CAPTION_MODEL_DIR, derivatives)
      : new RetrievalCaptioner(
          texts,
          (id) => search.vectorOf(id),
          () => model.current.pack.key,
        );
    const captions = new CaptionService(repos.texts, captioner, config.CAPTION_TIMEOUT_MS, log.child({ component: 'captions' }));
    texts.onChange = (owners) => captions.invalidate(owners);
    const decoder = new DecodePool(config.DECODE_THREADS, config.BACKGROUND_NICE, config.DECODE_TIMEOUT_MS);
    cleanup.push(() => decoder.close());
    if (config.ENCODER_SCHEDULING === 'priority' && config.DECODE_PAUSE_MS > 0) {
      const pause = new BackgroundPause(decoder, config.DECODE_PAUSE_MS);
      cleanup.push(pause.follow(model));
    }
    const raw = new RawPreviews(path.join(config.dataDir, 'tmp'));
    cleanup.push(() => raw.close());
    const deletion = new ImageDeletion({ images: repos.images, model, derivatives, events: dispatcher, log: log.child({ component: 'deletion' }) });
    const duplicateSettings = { threshold: config.DUPLICATE_THRESHOLD, phashBits: config.DUPLICATE_PHASH_BITS, neighbours: config.DUPLICATE_NEIGHBOURS };
    const ingest = new IngestService({
      imageRows: repos.images,
      ocrRows: repos.ocr,
      ocr,
      jobs: repos.ingest,
      model,
      derivatives,
      decode: decodeLimits,
      decoder,
      duplicates: config.DUPLICATES === 'on' ? new DuplicateFinder(repos.duplicates, duplicateSettings, log.child({ component: 'duplicates' })) : null,
      media: new MediaFrames({
        decoder,
        decode: decodeLimits,
        prep: () => model.current.pack.image.preprocessing,
        video: videoSampler(config, log),
        raw,
        animation: {
          minSpacingMs: config.VIDEO_MIN_SPACING_MS,
          maxSpacingMs: config.VIDEO_MAX_SPACING_MS,
          maxFrames: config.VIDEO_MAX_FRAMES,
          changeThreshold: config.ANIMATION_CHANGE_THRESHOLD,
        },
        log: log.child({ component: 'media' }),
      }),
      reader: {
        maxBytes: config.MAX_IMAGE_BYTES,
        maxVideoBytes: config.MAX_VIDEO_BYTES,
        derivatives,
        url: { timeoutMs: config.URL_FETCH_TIMEOUT_MS, maxBytes: config.MAX_IMAGE_BYTES, allowPrivate: config.URL_FETCH_ALLOW_PRIVATE },
      },
      batchSize: config.ingestWriteBatch,
      encodeInFlight: config.ENCODE_BATCHES_IN_FLIGHT || 1 + config.ENCODER_URLS.length + (loader.pull ? 1 : 0),
      lookahead: config.DECODE_CONCURRENCY + config.ingestWriteBatch,
      storeRetries: config.STORE_RETRIES,
      storeRetryDelayMs: config.STORE_RETRY_DELAY_MS,
      folders,
      stagingDir: path.join(config.dataDir, 'staging'),
      jobRetryBaseMs: config.JOB_RETRY_BASE_MS,
      jobLease: { leaseMs: config.JOB_LEASE_MS, pollMs: config.JOB_POLL_MS },
      onProgress: metrics.onIngestProgress,
      events: dispatcher,
      log: log.child({ component: 'ingest' }),
    });
    cleanup.push(() => ingest.stop());
    metrics.probes = { encoderQueue: () => model.current.pack.gate.pending, ingestQueue: () => ingest.queueDepth };
    packs = new PackSwitch({
      active: model,
      serving: first,
      load: (dir) => loader.load(dir),
      ingest: { pause: () => ingest.pause(), resume: () => ingest.resume(), reindex: () => ingest.reindexForPack() },
      reembedTexts: () => texts.reindexStale(),
      graceMs: config.REQUEST_TIMEOUT_MS,
      log: log.child({ component: 'packs' }),
    });
    const switcher = packs;
    const provisioning = new ModelProvisioning({
      switcher,
      installOptions: () => installOptionsFromEnv({ ...process.env, MODELS_DIR: config.modelsDir }),
      modelsDir: config.modelsDir,
      watchMs: config.followsActivePack ? config.MODELS_WATCH_MS : 0,
      log: log.child({ component: 'packs' }),
    });
    cleanup.push(() => provisioning.stop());
    const watcher = new LibraryWatcher({
      watches: repos.watches,
      scan: folderScanner({ watches: repos.watches, imageRows: repos.images, deletion, ingest }),
      folders,
      settings: { debounceMs: config.WATCH_DEBOUNCE_MS, rescanMs: config.WATCH_RESCAN_MS, usePolling: config.WATCH_POLLING },
      log: log.child({ component: 'watch' }),
    });
    // Before the ingest worker stops: a scan in progress may still queue a job.
    cleanup.push(() => watcher.stop());
    const purgeDeps = {
      removeWatches: (o: string) => watcher.unregisterOwner(o),
      purgeJobs: (o: string) => ingest.purgeOwner(o),
      deletion,
      removeTexts: (o: string) => texts.removeOwner(o),
      removeWebhooks: (o: string) => repos.webhooks.removeOwner(o),
    };
    const reconcileDeps = {
      imageRows: repos.images,
      jobs: repos.ingest,
      model,
      createReindexJob: () => ingest.createReindexJob(),
      purgeDeleted: () => deletion.purgeInterrupted(),
      derivatives,
    };
    return {
      config,
      log,
      repos,
      store,
      model,
      get pack() {
        return model.current.pack;
      },
      get images() {
        return model.current.images;
      },
      packs: switcher,
      provisioning,
      get encoders() {
        return switcher.current.encoders;
      },
      pull: loader.pull,
      derivatives,
      decodeLimits,
      search,
      searchMode: ocr ? 'hybrid' : 'semantic',
      texts,
      captions,
      ingest,
      deletion,
      library: new LibraryService(repos.images, model),
      webhooks: new WebhookService(repos.webhooks, dispatcher, config.WEBHOOK_ALLOW_PRIVATE),
      duplicates: new DuplicateService(repos.duplicates),
      dispatcher,
      ocr,
      watcher,
      folders,
      purgeOwner: (owner) => purgeOwner(purgeDeps, owner),
      keys,
      metrics,
      reconcile: (fix) => reconcile(reconcileDeps, fix),
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
