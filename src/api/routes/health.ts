import { Router } from 'express';
import type { EndpointStatus } from '../../remoteEncoders/encoderPool';
import type { VectorStore } from '../../store/vectorStore';

export interface ReadinessDeps {
  pingDatabase: () => Promise<void>;
  store: VectorStore;
  modelKey: string;
  /** Set when the pack cannot give meaningful results (the generated test pack). */
  modelWarning?: string | undefined;
  /** False while draining for shutdown: load balancers should stop sending traffic. */
  accepting: () => boolean;
  /** Remote encoders, when configured: informative only, the local pack answers while none is up. */
  encoders?: (() => EndpointStatus[]) | undefined;
}

async function check(fn: () => Promise<unknown>): Promise<{ ok: boolean; error?: string }> {
  try {
    await fn();
    return { ok: true };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

export function healthRoutes(deps: ReadinessDeps): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/readyz', async (_req, res) => {
    const [database, vectorStore] = await Promise.all([check(deps.pingDatabase), check(() => deps.store.ping())]);
    const accepting = deps.accepting();
    const ready = database.ok && vectorStore.ok && accepting;
    res.status(ready ? 200 : 503).json({
      status: ready ? 'ready' : 'not_ready',
      checks: {
        database,
        vectorStore: { ...vectorStore, kind: deps.store.kind },
        model: { ok: true, pack: deps.modelKey, meaningful: !deps.modelWarning, ...(deps.modelWarning ? { warning: deps.modelWarning } : {}) },
        accepting,
        ...(deps.encoders ? { encoders: deps.encoders() } : {}),
      },
    });
  });
  return r;
}
