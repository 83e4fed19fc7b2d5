import path from 'node:path';
import type { Config } from '../config/env';
import type { WebhookRepository } from '../db/repositories';
import { WebhookDispatcher } from '../webhooks/webhookDispatcher';
import { DEFAULT_DECODE_LIMITS } from '../images/decode';
import { OcrThreads } from '../ocr/ocrThreads';
import { bundledOcrModelDir, DETECT_SIDE, type PpOcrSettings } from '../ocr/ppOcr';
import type { TextReader } from '../ocr/textReader';
import type { EncoderPoolSettings } from '../remoteEncoders/encoderPool';
import { DEFAULT_HNSW, HnswStore } from '../store/hnswStore';
import { QdrantStore } from '../store/qdrantStore';
import type { VectorStore } from '../store/vectorStore';
import type { Logger } from '../util/logger';
import { findFfmpeg } from '../video/ffmpegBinary';
import { VideoSampler } from '../video/videoSampler';

/** Adapters made from configuration: which one, and with what settings, is decided here and nowhere else. */

export function createVectorStore(config: Config): VectorStore {
  if (config.QDRANT_URL) {
    return new QdrantStore({
      url: config.QDRANT_URL,
      apiKey: config.QDRANT_API_KEY,
      m: config.HNSW_M,
      efConstruction: config.HNSW_EF_CONSTRUCTION,
      efSearch: config.HNSW_EF_SEARCH,
      upsertBatch: config.QDRANT_UPSERT_BATCH,
      timeoutMs: config.QDRANT_TIMEOUT_MS,
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

/** PP-OCR's settings: the detector sees OCR_DETECT_SIDE (PaddleOCR's 960 unless set), never more than OCR reads. */
export function ocrSettingsFrom(config: Config): PpOcrSettings {
  return {
    modelDir: config.OCR_MODEL_DIR ?? bundledOcrModelDir(),
    detectSide: Math.min(config.OCR_DETECT_SIDE ?? DETECT_SIDE, config.OCR_MAX_SIDE),
    minConfidence: config.OCR_MIN_CONFIDENCE,
    intraOpThreads: config.ocrThreads,
    glimpsePixels: config.OCR_GLIMPSE_PIXELS,
  };
}

/** The OCR engine, unless OCR is off; a model that fails to load turns OCR off rather than stopping the service. */
export async function openTextReader(config: Config, log: Logger): Promise<TextReader | null> {
  if (config.OCR === 'off') return null;
  try {
    const reader = await OcrThreads.open(ocrSettingsFrom(config), { concurrency: config.ocrWorkers, nice: config.BACKGROUND_NICE });
    log.info({ engine: reader.key }, 'OCR is on');
    return reader;
  } catch (e) {
    log.error({ err: (e as Error).message }, 'OCR models could not be loaded; OCR is off');
    return null;
  }
}

/** The video sampler, or null (videos then fail with the reason) when video is off or no ffmpeg runs here. */
export function videoSampler(config: Config, log: Logger): VideoSampler | null {
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

export function webhookDispatcher(config: Config, webhooks: WebhookRepository, log: Logger): WebhookDispatcher {
  return new WebhookDispatcher(
    webhooks,
    {
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      maxAttempts: config.WEBHOOK_MAX_ATTEMPTS,
      retryBaseMs: config.WEBHOOK_RETRY_BASE_MS,
      pollMs: config.WEBHOOK_POLL_MS,
      allowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
    },
    log.child({ component: 'webhooks' }),
  );
}

export function encoderPoolSettings(config: Config): EncoderPoolSettings {
  return {
    urls: config.ENCODER_URLS,
    token: config.ENCODER_TOKEN,
    timeoutMs: config.ENCODER_TIMEOUT_MS,
    batchTimeoutMs: config.ENCODER_BATCH_TIMEOUT_MS,
    healthMs: config.ENCODER_HEALTH_MS,
  };
}
