import { realpath } from 'node:fs/promises';
import path from 'node:path';
import type { IngestService } from '../../ingest/ingestService';
import { reconcile } from '../../ingest/reconcile';
import type { ReconcileReport } from '../library/consistency';
import { FolderAccess } from '../../ingest/sources/folderAccess';
import { folderScanner } from '../../ingest/watch/folderScan';
import { LibraryWatcher } from '../../ingest/watch/libraryWatcher';
import { ApiKeyService } from '../auth/apiKeys';
import { ConfigError, type Config } from '../config/env';
import type { Repositories } from '../db/repositories';
import { DuplicateService } from '../duplicates/duplicateService';
import { DEFAULT_DECODE_LIMITS, type DecodeLimits } from '../images/decode';
import { openDerivativeStore, type DerivativeStore } from '../images/derivativeStore';
import { ImageDeletion } from '../library/imageDeletion';
import { LibraryService } from '../library/libraryService';
import { purgeOwner, type OwnerPurgeReport } from '../library/ownerPurge';
import { ActiveModel } from '../packs/activeModel';
import type { EncoderRun } from '../models/encoders';
import { installOptionsFromEnv } from '../models/install/fetchSettings';
import type { ModelPack } from '../models/modelPack';
import { Metrics } from '../observability/metrics';
import { OcrStage } from '../ocr/ocrStage';
import { PackSwitch } from '../packs/packSwitch';
import { ModelProvisioning } from '../packs/provisioning';
import type { EncoderPool } from '../remoteEncoders/encoderPool';
import type { AutoTagger } from '../autotags/autoTagger';
import type { PullCaptions } from '../remoteEncoders/pullCaptions';
import { OwnerSettingsService } from '../library/ownerSettingsService';
import type { PullEncoding } from '../remoteEncoders/pullEncoding';
import type { CaptionService } from '../search/captions';
import type { SearchMode, SearchService } from '../search/searchService';
import type { TextCorpus } from '../search/textCorpus';
import type { VectorCollection, VectorStore } from '../store/vectorStore';
import type { Logger } from '../util/logger';
import { setHelperThreadsNice } from '../util/priority';
import type { WebhookDispatcher } from '../webhooks/webhookDispatcher';
import { WebhookService } from '../webhooks/webhookService';
import { createVectorStore, openTextReader, webhookDispatcher } from './adapters';
import { Closers } from './closers';
import { wireIngest } from './ingestWiring';
import { JobActivity, NEVER_BUSY } from '../stages/ingestActivity';
import { wireStages } from './stagesWiring';
import type { ImageStage, ImageStages } from '../stages/imageStages';
import { wireSearch } from './searchWiring';
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
  /** Captions by pull workers with the service's captioner (PULL_ENCODERS=on and a captioner pack). */
  pullCaptions: PullCaptions | null;
  /** Scores the auto-tag vocabulary; its prompts, encoded once per pack, also calibrate relevance. */
  tagger: AutoTagger;
  /** Per-owner settings: the time zone an owner's queries are read in. */
  settings: OwnerSettingsService;
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
  /** Per-image background work (duplicates, auto tags, captions); started by the server, not by CLIs. */
  stages: ImageStages;
  /** Keeps watched library folders in sync; started by the server, not by CLIs. */
  watcher: LibraryWatcher;
  /** Starts what the server runs beside requests: webhook delivery, OCR, the image stages and folder watching. */
  startBackground(): Promise<void>;
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
  /** Image stages beside the built-in ones (tests, extensions). */
  stages?: readonly ImageStage[];
  /** Extra observer of the moments ingest stops (tests): OCR and the image stages are woken then. */
  onIngestIdle?: () => void;
}

/** The pack's real folder: a models:fetch that moves the active link later is a change to switch to. */
async function packFolder(dir: string): Promise<string> {
  try {
    return await realpath(dir);
  } catch {
    throw new ConfigError(
      `no model pack at ${dir}: set MODEL_DIR to a pack's folder, or start with npm start, which generates the test pack (npm run models:fetch installs the real model)`,
    );
  }
}

/** Builds every adapter and service from configuration; a failure part-way closes what was opened. */
export async function startServices(config: Config, log: Logger, hooks: ServiceHooks = {}): Promise<Services> {
  const closers = new Closers(log);
  // Before any encoder thread starts: only the threads that exist now are Node's own helpers.
  setHelperThreadsNice(config.BACKGROUND_NICE);
  // Before the database: a mistyped MODEL_DIR is said in one line, not after a cluster start.
  const packDir = await packFolder(config.modelDir);
  try {
    const metrics = new Metrics();
    const database = closers.own(await openDatabase(config, log), (d) => d.close());
    const { repos } = database;
    const keys = new ApiKeyService(repos.apiKeys, config.API_KEY_CACHE_MS);
    for (const k of await keys.narrowTenantKeys()) log.warn(k, 'a key of an owner held operator scopes: removed (admin and worker are for operator keys only)');
    const folders = new FolderAccess({ ingestRoots: config.ingestRoots, tenantRoot: config.tenantRoot }, repos.watches);
    const store = closers.own(createVectorStore(config), (st) => st.close());
    const loader = closers.own(new ModelLoader({ config, databaseUrl: database.url, store, metrics, log, onEncoderRun: hooks.onEncoderRun }), (l) => l.close());
    const first = await loader.load(packDir);
    const model = new ActiveModel(first.model);
    // The pack in use is closed after ingest has stopped (closers run in reverse): its last batch still encodes.
    const serving = closers.own({ packs: null as PackSwitch<LoadedModel> | null }, (p) => (p.packs ? p.packs.close() : first.close()));

    const dispatcher = closers.own(webhookDispatcher(config, repos.webhooks, log), (d) => d.stop());
    const derivatives = await openDerivativeStore(path.join(config.dataDir, 'derivatives'), repos.images, log);
    const reader = await openTextReader(config, log);
    if (reader) closers.own(reader, (r) => r.close());
    const ocrSettings = { maxSide: config.OCR_MAX_SIDE, concurrency: config.ocrWorkers, pollMs: config.OCR_POLL_MS };
    // OCR reads photos already searchable by meaning: its runs wait for ingest's, and it claims none while ingest runs.
    const deferred = <T>(run: () => Promise<T>) => model.current.pack.gate.run('deferred', run, config.ocrShare);
    const ingestActivity = config.BACKGROUND_DURING_INGEST === 'wait' ? new JobActivity() : NEVER_BUSY;
    if (hooks.onIngestIdle) ingestActivity.onIdle(hooks.onIngestIdle);
    const ocrLog = log.child({ component: 'ocr' });
    const ocr = reader
      ? closers.own(new OcrStage(reader, repos.ocr, derivatives, ocrSettings, metrics.onOcr, ocrLog, deferred, undefined, ingestActivity), (o) => o.stop())
      : null;
    const decodeLimits: DecodeLimits = { ...DEFAULT_DECODE_LIMITS, maxPixels: config.MAX_IMAGE_PIXELS, tensorOversample: config.PREPROCESS_OVERSAMPLE };
    const wiring = { config, log, repos, model, derivatives, decodeLimits, closers };
    const { search, texts, captions, tagger, generative, knownPlaces } = wireSearch(wiring);
    const deletion = new ImageDeletion({
      images: repos.images,
      items: repos.ingest,
      model,
      derivatives,
      events: dispatcher,
      log: log.child({ component: 'deletion' }),
    });
    const { bus, stages, pullCaptions } = wireStages({
      ...wiring,
      ocr,
      events: dispatcher,
      metrics,
      tagger,
      knownPlaces,
      captioner: generative,
      extra: hooks.stages ?? [],
      ingestActivity,
    });
    const stageCounts = (jobId: string) => stages.counts(jobId);
    const ingest = wireIngest({
      ...wiring,
      ocr,
      folders,
      events: dispatcher,
      published: bus,
      stageCounts,
      metrics,
      ingestActivity,
      pulling: loader.pull !== null,
    });
    const packs = new PackSwitch({
      active: model,
      serving: first,
      load: (dir) => loader.load(dir),
      ingest: { pause: () => ingest.pause(), resume: () => ingest.resume(), reindex: () => ingest.reindexForPack() },
      reembedTexts: () => texts.reindexStale(),
      graceMs: config.REQUEST_TIMEOUT_MS,
      log: log.child({ component: 'packs' }),
    });
    serving.packs = packs;
    const provisioning = closers.own(
      new ModelProvisioning({
        switcher: packs,
        installOptions: () => installOptionsFromEnv({ ...process.env, MODELS_DIR: config.modelsDir }),
        modelsDir: config.modelsDir,
        watchMs: config.followsActivePack ? config.MODELS_WATCH_MS : 0,
        log: log.child({ component: 'packs' }),
      }),
      (p) => p.stop(),
    );
    const watcher = new LibraryWatcher({
      watches: repos.watches,
      scan: folderScanner({ watches: repos.watches, imageRows: repos.images, deletion, ingest }),
      folders,
      settings: { debounceMs: config.WATCH_DEBOUNCE_MS, rescanMs: config.WATCH_RESCAN_MS, usePolling: config.WATCH_POLLING },
      log: log.child({ component: 'watch' }),
    });
    // Before the ingest worker stops: a scan in progress may still queue a job.
    closers.own(watcher, (w) => w.stop());
    const purge = {
      removeWatches: (o: string) => watcher.unregisterOwner(o),
      purgeJobs: (o: string) => ingest.purgeOwner(o),
      deletion,
      removeTexts: (o: string) => texts.removeOwner(o),
      removeWebhooks: (o: string) => repos.webhooks.removeOwner(o),
      removeSettings: (o: string) => repos.ownerSettings.removeOwner(o),
    };
    const consistency = {
      imageRows: repos.images,
      jobs: repos.ingest,
      model,
      createReindexJob: () => ingest.createReindexJob(),
      purgeDeleted: () => deletion.purgeInterrupted(),
      derivatives,
    };
    return {
      ...{ config, log, repos, store, model, packs, provisioning, derivatives, decodeLimits, search, texts, captions, ingest, deletion },
      ...{ dispatcher, ocr, stages, watcher, folders, keys, metrics, pull: loader.pull, pullCaptions },
      settings: new OwnerSettingsService(repos.ownerSettings, config.DEFAULT_TIME_ZONE),
      tagger,
      get pack() {
        return model.current.pack;
      },
      get images() {
        return model.current.images;
      },
      get encoders() {
        return packs.current.encoders;
      },
      searchMode: ocr ? 'hybrid' : 'semantic',
      library: new LibraryService(repos.images, model),
      webhooks: new WebhookService(repos.webhooks, dispatcher, config.WEBHOOK_ALLOW_PRIVATE),
      duplicates: new DuplicateService(repos.duplicates),
      purgeOwner: (owner) => purgeOwner(purge, owner),
      reconcile: (fix) => reconcile(consistency, fix),
      startBackground: async () => {
        dispatcher.start();
        ocr?.start();
        await stages.start();
        await watcher.start();
      },
      close: () => closers.closeAll(),
    };
  } catch (e) {
    await closers.closeAll();
    throw e;
  }
}
