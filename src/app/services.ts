import path from 'node:path';
import { IngestService } from '../../ingest/ingestService';
import { ApiKeyService } from '../auth/apiKeys';
import type { Config } from '../config/env';
import { startLocalPostgres, type LocalPostgres } from '../db/localPostgres';
import { migrate } from '../db/migrate';
import { openRepositories, type Repositories } from '../db/repositories';
import { reconcile, type ReconcileReport } from '../../ingest/reconcile';
import { DEFAULT_DECODE_LIMITS, type DecodeLimits } from '../images/decode';
import { DerivativeStore } from '../images/derivativeStore';
import type { EncoderRun } from '../models/encoders';
import { Metrics } from '../observability/metrics';
import { ImageDeletion } from '../library/imageDeletion';
import { LibraryService } from '../library/libraryService';
import { purgeOwner, type OwnerPurgeReport } from '../library/ownerPurge';
import { encodeOnce, loadModelPack, notMeaningfulWarning, packOptionsFrom, type ModelPack } from '../models/modelPack';
import { DecodePool } from '../images/decodePool';
import { MediaFrames } from '../../ingest/media/mediaFrames';
import { DuplicateFinder } from '../duplicates/duplicateFinder';
import { DuplicateService } from '../duplicates/duplicateService';
import { findFfmpeg } from '../video/ffmpegBinary';
import { VideoSampler } from '../video/videoSampler';
import { RawPreviews } from '../raw/rawPreview';
import { EncoderPool, type EncoderPoolSettings } from '../remoteEncoders/encoderPool';
import { PullEncoding } from '../remoteEncoders/pullEncoding';
import { PullQueue } from '../remoteEncoders/pullQueue';
import { CaptionService, GenerativeCaptioner, RetrievalCaptioner, type Captioner } from '../search/captions';
import { SearchService, type SearchMode } from '../search/searchService';
import { TextInImages } from '../search/textInImages';
import { TextCorpus } from '../search/textCorpus';
import { DEFAULT_HNSW, HnswStore } from '../store/hnswStore';
import { QdrantStore } from '../store/qdrantStore';
import { collectionName, type VectorCollection, type VectorStore } from '../store/vectorStore';
import type { Logger } from '../util/logger';
import { WebhookDispatcher } from '../webhooks/webhookDispatcher';
import { LibraryWatcher } from '../../ingest/watch/libraryWatcher';
import { scanFolder } from '../../ingest/watch/folderScan';
import { FolderAccess } from '../../ingest/sources/folderAccess';
import { OcrStage } from '../ocr/ocrStage';
import { OcrThreads } from '../ocr/ocrThreads';
import { bundledOcrModelDir } from '../ocr/ppOcr';
import type { TextReader } from '../ocr/textReader';
import { WebhookService } from '../webhooks/webhookService';
import { setHelperThreadsNice } from '../util/priority';
import { BackgroundPause } from '../models/backgroundPause';

/** Everything the API and the CLI work with, built from configuration in one place. */
export interface Services {
  config: Config;
  log: Logger;
  repos: Repositories;
  store: VectorStore;
  pack: ModelPack;
  /** Remote encoders (ENCODER_URLS), null when the local pack encodes everything. */
  encoders: EncoderPool | null;
  /** The pull queue's side in this service (PULL_ENCODERS=on): workers lease ingest's batches through it. */
  pull: PullEncoding | null;
  images: VectorCollection;
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

export function createVectorStore(config: Config): VectorStore {
  if (config.QDRANT_URL) {
    return new QdrantStore({
      url: config.QDRANT_URL,
      apiKey: config.QDRANT_API_KEY,
      m: config.HNSW_M,
      efConstruction: config.HNSW_EF_CONSTRUCTION,
      efSearch: config.HNSW_EF_SEARCH,
      upsertBatch: 256,
      timeoutMs: 30_000,
    });
  }
  return new HnswStore(path.join(config.dataDir, 'index'), {
    ...DEFAULT_HNSW,
    m: config.HNSW_M,
    efConstruction: config.HNSW_EF_CONSTRUCTION,
    efSearch: config.HNSW_EF_SEARCH,
    vectorCache: config.HNSW_VECTOR_CACHE,
  });
}

/** Connects to DATABASE_URL, or starts (or joins) the local cluster under DATA_DIR; applies migrations. */
export async function openDatabase(config: Config, log?: Logger): Promise<{ repos: Repositories; url: string; close(): Promise<void> }> {
  let pg: LocalPostgres | null = null;
  let url = config.DATABASE_URL;
  if (!url) {
    pg = await startLocalPostgres({ dir: path.join(config.dataDir, 'postgres') });
    url = pg.url;
    log?.info({ dataDir: pg.dataDir, joined: !pg.ownsServer }, 'using local PostgreSQL (set DATABASE_URL to use another)');
  }
  try {
    const migrations = await migrate(url);
    if (migrations.applied.length) log?.info({ applied: migrations.applied }, 'applied database migrations');
  } catch (e) {
    await pg?.stop();
    throw e;
  }
  const repos = openRepositories(url);
  return {
    repos,
    url,
    close: async () => {
      await repos.close();
      await pg?.stop();
    },
  };
}

/** The OCR engine, unless OCR is off; a model that fails to load turns OCR off rather than stopping the service. */
async function openTextReader(config: Config, log: Logger): Promise<TextReader | null> {
  if (config.OCR === 'off') return null;
  try {
    const reader = await OcrThreads.open(
      {
        modelDir: config.OCR_MODEL_DIR ?? bundledOcrModelDir(),
        maxSide: config.OCR_MAX_SIDE,
        minConfidence: config.OCR_MIN_CONFIDENCE,
        intraOpThreads: config.OCR_THREADS,
      },
      { concurrency: config.OCR_CONCURRENCY, nice: config.BACKGROUND_NICE },
    );
    log.info({ engine: reader.key }, 'OCR is on');
    return reader;
  } catch (e) {
    log.error({ err: (e as Error).message }, 'OCR models could not be loaded; OCR is off');
    return null;
  }
}

/** The video sampler, or null (videos then fail with the reason) when video is off or no ffmpeg runs here. */
function videoSampler(config: Config, log: Logger): VideoSampler | null {
  if (config.VIDEO === 'off') return null;
  const ffmpeg = findFfmpeg(config.FFMPEG_PATH);
  if (!ffmpeg) {
    log.warn('no ffmpeg found: videos will fail to ingest (install ffmpeg or set FFMPEG_PATH)');
    return null;
  }
  if (ffmpeg.origin === 'npm')
    log.warn({ ffmpeg: ffmpeg.version }, "videos are read by npm's 2018 ffmpeg build: fine for your own videos, not for files from strangers");
  else log.info({ ffmpeg: ffmpeg.path, version: ffmpeg.version }, 'videos are read by ffmpeg');
  return new VideoSampler(ffmpeg, {
    sampling: {
      minSpacingMs: config.VIDEO_MIN_SPACING_MS,
      maxSpacingMs: config.VIDEO_MAX_SPACING_MS,
      maxFrames: config.VIDEO_MAX_FRAMES,
      sceneThreshold: config.VIDEO_SCENE_THRESHOLD,
      frameSide: DEFAULT_DECODE_LIMITS.previewSize,
    },
    limits: { timeoutMs: config.VIDEO_TIMEOUT_MS, maxMemoryBytes: config.VIDEO_MAX_MEMORY_MB * 1024 * 1024, nice: config.BACKGROUND_NICE },
    maxDurationMs: config.VIDEO_MAX_SECONDS * 1000,
    concurrency: config.VIDEO_CONCURRENCY,
    workDir: path.join(config.dataDir, 'tmp'),
  });
}

function encoderPoolSettings(config: Config): EncoderPoolSettings {
  return {
    urls: config.ENCODER_URLS,
    token: config.ENCODER_TOKEN,
    timeoutMs: config.ENCODER_TIMEOUT_MS,
    batchTimeoutMs: config.ENCODER_BATCH_TIMEOUT_MS,
    healthMs: config.ENCODER_HEALTH_MS,
  };
}

async function openPullEncoding(config: Config, databaseUrl: string, encoder: ModelPack, log: Logger): Promise<PullEncoding> {
  const queue = await PullQueue.open(
    {
      databaseUrl,
      leaseSeconds: config.PULL_LEASE_SECONDS,
      maintenanceSeconds: config.PULL_MAINTENANCE_SECONDS,
      retryLimit: config.PULL_RETRY_LIMIT,
    },
    log,
  );
  return new PullEncoding(queue, encoder, { pollMs: config.PULL_POLL_MS }, log);
}

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

    const localPack = await loadModelPack(config.modelDir, {
      ...packOptionsFrom(config),
      onRun: (run) => {
        metrics.onEncoderRun(run);
        hooks.onEncoderRun?.(run);
      },
    });
    cleanup.push(() => localPack.close());
    log.info({ pack: localPack.key, dim: localPack.image.dim, dir: config.modelDir }, 'loaded model pack');
    const warning = notMeaningfulWarning(localPack.manifest);
    if (warning) log.warn(warning);
    // onnxruntime plans memory and threads on a session's first run: spend that at start, not on the first search.
    await encodeOnce(localPack);
    const encoders = config.ENCODER_URLS.length ? new EncoderPool(encoderPoolSettings(config), localPack, log.child({ component: 'encoders' })) : null;
    if (encoders) {
      await encoders.start();
      cleanup.push(async () => encoders.stop());
    }
    // Everything below encodes through the remote encoders when there are any, the local pack otherwise.
    const pushed: ModelPack = encoders ? { ...localPack, image: encoders.image, text: encoders.text } : localPack;
    const pull = config.PULL_ENCODERS === 'on' ? await openPullEncoding(config, database.url, pushed, log.child({ component: 'pull' })) : null;
    if (pull) {
      if (config.PULL_LOCAL_ENCODER) pull.start();
      cleanup.push(() => pull.stop());
    }
    // With pull workers, ingest's image batches go through their queue.
    const pack: ModelPack = pull ? { ...pushed, image: pull.image } : pushed;

    const store = createVectorStore(config);
    cleanup.push(() => store.close());
    const images = await store.collection(collectionName(config.QDRANT_COLLECTION_PREFIX, pack.key), pack.image.dim);
    log.info({ store: store.kind, collection: images.name }, 'opened vector collection');

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

    const reader = await openTextReader(config, log);
    if (reader) cleanup.push(() => reader.close());
    const derivatives = new DerivativeStore(path.join(config.dataDir, 'derivatives'));
    const ocr = reader
      ? new OcrStage(
          reader,
          repos.ocr,
          derivatives,
          { maxSide: config.OCR_MAX_SIDE, concurrency: config.OCR_CONCURRENCY, pollMs: 2000 },
          metrics.onOcr,
          log.child({ component: 'ocr' }),
          (run) => pack.gate.run('background', run),
        )
      : null;
    if (ocr) cleanup.push(() => ocr.stop());
    const moved = await derivatives.migrateFromContentKeys(repos.images.contentKeys());
    if (moved) log.info({ files: moved }, 'moved derivative files to per-image names');
    const decodeLimits: DecodeLimits = { ...DEFAULT_DECODE_LIMITS, maxPixels: config.MAX_IMAGE_PIXELS, tensorOversample: config.PREPROCESS_OVERSAMPLE };
    // Query images decode in their own process at normal priority: HEIC takes seconds, and ingest's decoding runs niced.
    const queryDecoder = new DecodePool(1, null, config.DECODE_TIMEOUT_MS);
    cleanup.push(() => queryDecoder.close());
    const search = new SearchService(
      repos.images,
      images,
      pack,
      queryDecoder,
      decodeLimits,
      config.TEXT_EMBEDDING_CACHE_SIZE,
      new TextInImages(repos.ocr, repos.images),
      config.HYBRID_FUSION,
      config.SEARCH_SEGMENT_MARGIN,
    );
    const textCollection = await store.collection(collectionName(config.TEXT_COLLECTION_PREFIX, pack.key), pack.text.dim);
    const texts = new TextCorpus(repos.texts, textCollection, pack);
    const captioner: Captioner = config.CAPTION_MODEL_DIR
      ? new GenerativeCaptioner(config.CAPTION_MODEL_DIR, derivatives)
      : new RetrievalCaptioner(texts, (id) => search.vectorOf(id), pack.key);
    const captions = new CaptionService(repos.texts, captioner, config.CAPTION_TIMEOUT_MS, log.child({ component: 'captions' }));
    texts.onChange = (owners) => captions.invalidate(owners);
    const decoder = new DecodePool(config.DECODE_THREADS, config.BACKGROUND_NICE, config.DECODE_TIMEOUT_MS);
    cleanup.push(() => decoder.close());
    if (config.ENCODER_SCHEDULING === 'priority' && config.DECODE_PAUSE_MS > 0) {
      const pause = new BackgroundPause(decoder, config.DECODE_PAUSE_MS);
      const unwatch = pack.gate.watchQueries((busy) => pause.queries(busy));
      cleanup.push(async () => {
        unwatch();
        pause.stop();
      });
    }
    const video = videoSampler(config, log);
    const raw = new RawPreviews(path.join(config.dataDir, 'tmp'));
    cleanup.push(() => raw.close());
    const ingest = new IngestService({
      imageRows: repos.images,
      ocrRows: repos.ocr,
      ocr,
      jobs: repos.ingest,
      collection: images,
      pack,
      derivatives,
      decode: decodeLimits,
      decoder,
      duplicates:
        config.DUPLICATES === 'on'
          ? new DuplicateFinder(
              repos.duplicates,
              images,
              { threshold: config.DUPLICATE_THRESHOLD, phashBits: config.DUPLICATE_PHASH_BITS, neighbours: config.DUPLICATE_NEIGHBOURS },
              log.child({ component: 'duplicates' }),
            )
          : null,
      media: new MediaFrames({
        decoder,
        decode: decodeLimits,
        prep: pack.image.preprocessing,
        video,
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
      encodeInFlight: config.ENCODE_BATCHES_IN_FLIGHT || 1 + config.ENCODER_URLS.length + (pull ? 1 : 0),
      lookahead: config.DECODE_CONCURRENCY + config.ingestWriteBatch,
      storeRetries: 4,
      storeRetryDelayMs: 250,
      folders,
      stagingDir: path.join(config.dataDir, 'staging'),
      jobRetryBaseMs: 1000,
      jobLease: { leaseMs: config.JOB_LEASE_MS, pollMs: config.JOB_POLL_MS },
      onProgress: metrics.onIngestProgress,
      events: dispatcher,
      log: log.child({ component: 'ingest' }),
    });
    cleanup.push(() => ingest.stop());
    metrics.probes = { encoderQueue: () => pack.gate.pending, ingestQueue: () => ingest.queueDepth };
    const deletion = new ImageDeletion({
      images: repos.images,
      collection: images,
      derivatives,
      events: dispatcher,
      log: log.child({ component: 'deletion' }),
    });
    const watcher = new LibraryWatcher({
      watches: repos.watches,
      scan: (folder) =>
        scanFolder(
          {
            watches: repos.watches,
            imageRows: repos.images,
            deleteImages: (externalIds, owner) =>
              deletion.delete(
                externalIds.map((externalId) => ({ externalId })),
                owner,
              ),
            ingestFiles: async (owner, files, albums) => {
              const jobId = await ingest.createFileJob(owner, files, albums);
              ingest.enqueue(jobId);
              return jobId;
            },
          },
          folder,
        ),
      folders,
      settings: { debounceMs: config.WATCH_DEBOUNCE_MS, rescanMs: config.WATCH_RESCAN_MS, usePolling: config.WATCH_POLLING },
      log: log.child({ component: 'watch' }),
    });
    // Before the ingest worker stops: a scan in progress may still queue a job.
    cleanup.push(() => watcher.stop());
    const reconcileWith = (fix: boolean) =>
      reconcile(
        {
          imageRows: repos.images,
          jobs: repos.ingest,
          images,
          packKey: pack.key,
          createReindexJob: () => ingest.createReindexJob(),
          purgeDeleted: () => deletion.purgeInterrupted(),
        },
        fix,
      );
    return {
      config,
      log,
      repos,
      store,
      pack,
      encoders,
      pull,
      images,
      derivatives,
      decodeLimits,
      search,
      searchMode: ocr ? 'hybrid' : 'semantic',
      texts,
      captions,
      ingest,
      deletion,
      library: new LibraryService(repos.images, images),
      webhooks: new WebhookService(repos.webhooks, dispatcher, config.WEBHOOK_ALLOW_PRIVATE),
      duplicates: new DuplicateService(repos.duplicates),
      dispatcher,
      ocr,
      watcher,
      purgeOwner: (owner: string) =>
        purgeOwner(
          {
            removeWatches: (o) => watcher.unregisterOwner(o),
            purgeJobs: (o) => ingest.purgeOwner(o),
            deletion,
            removeTexts: (o) => texts.removeOwner(o),
            removeWebhooks: (o) => repos.webhooks.removeOwner(o),
          },
          owner,
        ),
      keys,
      folders,
      metrics,
      reconcile: reconcileWith,
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
