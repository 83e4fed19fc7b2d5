import type { EndpointStatus } from '../../remoteEncoders/encoderPool';
import type { Metrics } from '../../observability/metrics';
import type { VectorStore } from '../../store/vectorStore';
import type { healthRoutes } from '../contract/health';
import { Reply, SENT, type Handlers } from '../router';

export interface HealthDeps {
  pingDatabase: () => Promise<void>;
  store: VectorStore;
  modelKey: string;
  /** Set when the pack cannot give meaningful results (the generated test pack). */
  modelWarning?: string | undefined;
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
          model: { ok: true, pack: deps.modelKey, meaningful: !deps.modelWarning, ...(deps.modelWarning ? { warning: deps.modelWarning } : {}) },
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
