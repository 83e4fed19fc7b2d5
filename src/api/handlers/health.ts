import { packKey, type ModelManifest } from '../../models/manifest';
import { notMeaningfulWarning } from '../../models/modelPack';
import type { InstallStatus } from '../../packs/installProgress';
import type { EndpointStatus } from '../../remoteEncoders/encoderPool';
import type { Metrics } from '../../observability/metrics';
import type { VectorStore } from '../../store/vectorStore';
import type { healthRoutes } from '../contract/health';
import { Reply, SENT, type Handlers } from '../router';

export interface HealthDeps {
  pingDatabase: () => Promise<void>;
  store: Pick<VectorStore, 'kind' | 'ping'>;
  model: () => ModelManifest;
  /** The real model's background install, while there is one. */
  install: () => InstallStatus | null;
  /** False while draining for shutdown: load balancers should stop sending traffic. */
  accepting: () => boolean;
  /** Remote encoders, when configured: informative only, the local pack answers while none is up. */
  encoders?: (() => EndpointStatus[]) | undefined;
  metrics: Metrics;
  /** The OpenAPI document, made once. */
  openapi: object;
}

async function check(fn: () => Promise<unknown>): Promise<{ ok: boolean; error?: string }> {
  try {
    await fn();
    return { ok: true };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

function modelStatus(manifest: ModelManifest) {
  const warning = notMeaningfulWarning(manifest);
  return {
    ok: true,
    pack: packKey(manifest),
    meaningful: !warning,
    ...(warning ? { warning } : {}),
    maxBatch: { image: manifest.image.maxBatch ?? null, text: manifest.text.maxBatch ?? null },
  };
}

export function healthHandlers(deps: HealthDeps): Handlers<typeof healthRoutes> {
  return {
    health: async () => ({ status: 'ok' }),
    ready: async () => {
      const [database, vectorStore] = await Promise.all([check(deps.pingDatabase), check(() => deps.store.ping())]);
      const accepting = deps.accepting();
      const ready = database.ok && vectorStore.ok && accepting;
      return new Reply(ready ? 200 : 503, {
        status: ready ? 'ready' : 'not_ready',
        checks: {
          database,
          vectorStore: { ...vectorStore, kind: deps.store.kind },
          model: { ...modelStatus(deps.model()), install: deps.install() },
          accepting,
          ...(deps.encoders ? { encoders: deps.encoders() } : {}),
        },
      });
    },
    metrics: async ({ res }) => {
      res.set('content-type', deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
      return SENT;
    },
    openapi: async () => deps.openapi,
  };
}
