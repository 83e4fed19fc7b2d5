import type { AutoTagger } from '../autotags/autoTagger';
import type { KnownPlaces } from '../places/knownPlaces';
import { autoTagStage } from '../autotags/autoTagStage';
import { DuplicateFinder } from '../duplicates/duplicateFinder';
import { duplicateStage } from '../duplicates/duplicateStage';
import type { EventSink } from '../events/events';
import type { Metrics } from '../observability/metrics';
import type { OcrStage } from '../ocr/ocrStage';
import { followQueries } from '../packs/activeModel';
import { ImageEventBus } from '../stages/imageEvents';
import { ImageStages, type ImageStage } from '../stages/imageStages';
import type { IngestActivity } from '../stages/ingestActivity';
import { QuietTurn } from '../stages/quietTurn';
import { placeStage } from '../places/placeStage';
import { ReverseGeocoder } from '../places/reverseGeocoder';
import { PullCaptions } from '../remoteEncoders/pullCaptions';
import { captionStage } from '../search/captionStage';
import type { Captioner } from '../search/captions';
import { indexedAnnouncer } from '../webhooks/indexedAnnouncer';
import type { Wiring } from './searchWiring';

export interface StageWiring extends Wiring {
  ocr: OcrStage | null;
  events: EventSink;
  metrics: Metrics;
  tagger: AutoTagger;
  knownPlaces: KnownPlaces;
  captioner: Captioner | null;
  extra: readonly ImageStage[];
  /** While it is busy, no stage claims work; its end wakes them. */
  ingestActivity: IngestActivity;
}

/** What follows an image being stored: the image events, their listeners, and the background stages (one line each). */
export function wireStages(w: StageWiring): { bus: ImageEventBus; stages: ImageStages; pullCaptions: PullCaptions | null } {
  const { config, repos, model, log } = w;
  const stages = w.closers.own(
    new ImageStages({
      repo: repos.stageTasks,
      defaults: {
        concurrency: 1,
        page: 16,
        leaseMs: 10 * 60_000,
        pollMs: config.STAGE_POLL_MS,
        maxAttempts: config.STAGE_MAX_ATTEMPTS,
        retryBaseMs: config.STAGE_RETRY_BASE_MS,
        retryMaxMs: 3_600_000,
      },
      turn: new QuietTurn((listener) => followQueries(model, listener), config.STAGE_QUERY_WAIT_MS),
      ingest: w.ingestActivity,
      observe: w.metrics.onStage,
      log: log.child({ component: 'stages' }),
    }),
    (s) => s.stop(),
  );
  const bus = new ImageEventBus(log.child({ component: 'image-events' }));
  bus.subscribe(stages);
  const ocr = w.ocr;
  if (ocr) bus.subscribe({ name: 'ocr', indexed: () => Promise.resolve(ocr.wake()) });
  w.closers.own(
    w.ingestActivity.onIdle(() => {
      stages.wake();
      ocr?.wake();
    }),
    (unwatch) => unwatch(),
  );
  bus.subscribe(indexedAnnouncer(w.events));

  const duplicateSettings = { threshold: config.DUPLICATE_THRESHOLD, phashBits: config.DUPLICATE_PHASH_BITS, neighbours: config.DUPLICATE_NEIGHBOURS };
  if (config.AUTO_TAGS === 'on') stages.register(autoTagStage(w.tagger, repos.images, repos.ocr, model));
  stages.register(placeStage(new ReverseGeocoder(), repos.images, model, (owner) => w.knownPlaces.forget(owner)));
  if (config.DUPLICATES === 'on') stages.register(duplicateStage(new DuplicateFinder(repos.duplicates, duplicateSettings), repos.images, model));
  const captioner = w.captioner;
  const captionRepos = { images: repos.images, texts: repos.texts, lexical: repos.ocr };
  // With pull workers on, a worker holding the same captioner pack captions instead of this process.
  const pullCaptions =
    captioner && config.PULL_ENCODERS === 'on'
      ? new PullCaptions(() => captioner.model, repos.stageTasks, captionRepos, w.derivatives, {
          leaseMs: config.PULL_LEASE_SECONDS * 1000,
          presenceMs: config.PULL_CAPTION_PRESENCE_MS,
          retryMs: config.STAGE_RETRY_BASE_MS,
          maxAttempts: config.STAGE_MAX_ATTEMPTS,
        })
      : null;
  if (captioner) stages.register(captionStage(captioner, captionRepos, config.CAPTION_BACKGROUND_TIMEOUT_MS, () => pullCaptions?.connected() ?? false));
  for (const stage of w.extra) stages.register(stage);
  return { bus, stages, pullCaptions };
}
