import type { Config } from '../config/env';
import type { ModelInUse } from '../packs/activeModel';
import type { EncoderRun } from '../models/encoders';
import { encodeOnce, loadModelPack, notMeaningfulWarning, packOptionsFrom, type ModelPack } from '../models/modelPack';
import type { Metrics } from '../observability/metrics';
import { EncoderPool } from '../remoteEncoders/encoderPool';
import { PullEncoding } from '../remoteEncoders/pullEncoding';
import { PullQueue } from '../remoteEncoders/pullQueue';
import { collectionName, type VectorStore } from '../store/vectorStore';
import type { Logger } from '../util/logger';
import { encoderPoolSettings } from './adapters';

/** A pack loaded from its folder and made ready to serve, and what closes it. */
export interface LoadedModel {
  readonly dir: string;
  readonly model: ModelInUse;
  /** Remote encoders in front of the pack (ENCODER_URLS), null when the local pack encodes everything. */
  readonly encoders: EncoderPool | null;
  close(): Promise<void>;
}

export interface ModelLoaderDeps {
  config: Config;
  databaseUrl: string;
  store: VectorStore;
  metrics: Metrics;
  log: Logger;
  /** Extra observer of encoder runs (benchmarks); metrics are always recorded. */
  onEncoderRun?: ((run: EncoderRun) => void) | undefined;
}

/**
 * Loads a model pack the way the service runs it: the pack from its folder, warmed up; remote encoders
 * (ENCODER_URLS) in front of it; ingest's batches through the pull queue (PULL_ENCODERS=on), which is
 * opened with the first pack and then pointed at each next one; and the pack's own vector collections.
 */
export class ModelLoader {
  private pullEncoding: PullEncoding | null = null;

  constructor(private readonly deps: ModelLoaderDeps) {}

  /** The pull queue's side in this service, once a pack is loaded (null when PULL_ENCODERS is off). */
  get pull(): PullEncoding | null {
    return this.pullEncoding;
  }

  async load(dir: string): Promise<LoadedModel> {
    const { config, metrics, log } = this.deps;
    const local = await loadModelPack(dir, {
      ...packOptionsFrom(config),
      onRun: (run) => {
        metrics.onEncoderRun(run);
        this.deps.onEncoderRun?.(run);
      },
    });
    let encoders: EncoderPool | null = null;
    try {
      log.info({ pack: local.key, dim: local.image.dim, dir }, 'loaded model pack');
      const warning = notMeaningfulWarning(local.manifest);
      if (warning) log.warn(warning);
      // onnxruntime plans memory and threads on a session's first run: spend that now, not on the first search.
      await encodeOnce(local);
      encoders = config.ENCODER_URLS.length ? new EncoderPool(encoderPoolSettings(config), local, log.child({ component: 'encoders' })) : null;
      await encoders?.start();
      // Everything below encodes through the remote encoders when there are any, the local pack otherwise.
      const pushed: ModelPack = encoders ? { ...local, image: encoders.image, text: encoders.text } : local;
      const pull = await this.pullFor(pushed);
      const pack: ModelPack = pull ? { ...pushed, image: pull.image } : pushed;
      const images = await this.deps.store.collection(collectionName(config.QDRANT_COLLECTION_PREFIX, pack.key), pack.image.dim);
      const texts = await this.deps.store.collection(collectionName(config.TEXT_COLLECTION_PREFIX, pack.key), pack.text.dim);
      log.info({ store: this.deps.store.kind, collection: images.name }, 'opened vector collection');
      const pool = encoders;
      return {
        dir,
        model: { pack, images, texts },
        encoders: pool,
        close: async () => {
          pool?.stop();
          await local.close();
        },
      };
    } catch (e) {
      encoders?.stop();
      await local.close();
      throw e;
    }
  }

  /** With pull workers, ingest's image batches go through their queue, for the pack being loaded. */
  private async pullFor(pushed: ModelPack): Promise<PullEncoding | null> {
    const { config, log } = this.deps;
    if (config.PULL_ENCODERS !== 'on') return null;
    if (this.pullEncoding) {
      this.pullEncoding.serve(pushed);
      return this.pullEncoding;
    }
    const queue = await PullQueue.open(
      {
        databaseUrl: this.deps.databaseUrl,
        leaseSeconds: config.PULL_LEASE_SECONDS,
        maintenanceSeconds: config.PULL_MAINTENANCE_SECONDS,
        retryLimit: config.PULL_RETRY_LIMIT,
      },
      log.child({ component: 'pull' }),
    );
    this.pullEncoding = new PullEncoding(queue, pushed, { pollMs: config.PULL_POLL_MS }, log.child({ component: 'pull' }));
    if (config.PULL_LOCAL_ENCODER) this.pullEncoding.start();
    return this.pullEncoding;
  }

  async close(): Promise<void> {
    await this.pullEncoding?.stop();
  }
}
