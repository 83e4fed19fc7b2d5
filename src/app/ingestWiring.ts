import path from 'node:path';
import { IngestService, type IngestServiceDeps } from '../../ingest/ingestService';
import { MediaFrames } from '../../ingest/media/mediaFrames';
import type { FolderAccess } from '../../ingest/sources/folderAccess';
import type { EventSink } from '../events/events';
import type { ImagePublisher } from '../stages/imageEvents';
import type { IngestActivity } from '../stages/ingestActivity';
import { DecodePool } from '../images/decodePool';
import { BackgroundPause } from '../models/backgroundPause';
import type { Metrics } from '../observability/metrics';
import type { OcrStage } from '../ocr/ocrStage';
import { followQueries } from '../packs/activeModel';
import { RawPreviews } from '../raw/rawPreview';
import { videoSampler } from './adapters';
import type { Wiring } from './searchWiring';

export interface IngestWiring extends Wiring {
  ocr: OcrStage | null;
  folders: FolderAccess;
  events: EventSink;
  published: ImagePublisher;
  stageCounts: IngestServiceDeps['stageCounts'];
  metrics: Metrics;
  /** Pull workers encode ingest's batches too: one more batch in flight. */
  pulling: boolean;
  /** Told while a job runs: OCR and the image stages wait for it. */
  ingestActivity: IngestActivity;
}

/** Ingest: decoding in niced processes (paused while queries wait), media, and the job worker. */
export function wireIngest(w: IngestWiring): IngestService {
  const { config, repos, model, log } = w;
  const decoder = w.closers.own(new DecodePool(config.DECODE_THREADS, config.BACKGROUND_NICE, config.DECODE_TIMEOUT_MS), (d) => d.close());
  if (config.ENCODER_SCHEDULING === 'priority' && config.DECODE_PAUSE_MS > 0) {
    const pause = new BackgroundPause(decoder, config.DECODE_PAUSE_MS);
    w.closers.own(
      followQueries(model, (busy) => pause.queries(busy)),
      (unfollow) => {
        unfollow();
        pause.stop();
      },
    );
  }
  const raw = w.closers.own(new RawPreviews(path.join(config.dataDir, 'tmp')), (r) => r.close());
  const ingest = new IngestService({
    imageRows: repos.images,
    ocrRows: repos.ocr,
    ocr: w.ocr,
    jobs: repos.ingest,
    model,
    derivatives: w.derivatives,
    decode: w.decodeLimits,
    decoder,
    media: new MediaFrames({
      decoder,
      decode: w.decodeLimits,
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
      derivatives: w.derivatives,
      url: { timeoutMs: config.URL_FETCH_TIMEOUT_MS, maxBytes: config.MAX_IMAGE_BYTES, allowPrivate: config.URL_FETCH_ALLOW_PRIVATE },
    },
    batchSize: config.ingestWriteBatch,
    encodeInFlight: config.ENCODE_BATCHES_IN_FLIGHT || 1 + config.ENCODER_URLS.length + (w.pulling ? 1 : 0),
    lookahead: config.DECODE_CONCURRENCY + config.ingestWriteBatch,
    storeRetries: config.STORE_RETRIES,
    storeRetryDelayMs: config.STORE_RETRY_DELAY_MS,
    folders: w.folders,
    stagingDir: path.join(config.dataDir, 'staging'),
    jobRetryBaseMs: config.JOB_RETRY_BASE_MS,
    jobLease: { leaseMs: config.JOB_LEASE_MS, pollMs: config.JOB_POLL_MS },
    jobTurnMs: config.JOB_TURN_MS,
    onProgress: w.metrics.onIngestProgress,
    activity: w.ingestActivity,
    events: w.events,
    published: w.published,
    stageCounts: w.stageCounts,
    log: log.child({ component: 'ingest' }),
  });
  w.metrics.probes = { encoderQueue: () => model.current.pack.gate.pending, ingestQueue: () => ingest.queueDepth };
  return w.closers.own(ingest, (i) => i.stop());
}
