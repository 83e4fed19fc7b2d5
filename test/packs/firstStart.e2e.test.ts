import { mkdtemp, readFile, rm, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { makeTestPack } from '../../scripts/test-pack/make';
import { installOptionsFromEnv } from '../../src/models/install/fetchSettings';
import { installPack } from '../../src/models/install/installPack';
import { xenovaRepo } from '../helpers/hubRepos';
import { colourImage } from '../helpers/images';
import { startLoopbackHub, type LoopbackHub } from '../helpers/loopbackHub';
import { freePort, killPostgres, ServiceProcess } from '../helpers/serviceProcess';

const KEY = 'first-start-key';

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/**
 * A new user's `npm start` (the service process as main.ts runs it, MODEL_DIR unset, no pack installed), with
 * a loopback hub playing huggingface.co: the test pack serves at once, the default Chinese-CLIP repository is
 * installed in the background, and the service switches to it without a restart.
 */
describe('the real model on first start', () => {
  let hub: LoopbackHub;
  const dirs: string[] = [];
  beforeAll(async () => {
    hub = await startLoopbackHub();
    hub.add('Xenova/chinese-clip-vit-base-patch16', await xenovaRepo());
  });
  afterAll(async () => {
    await hub.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  const start = async (endpoint: string, extra: Record<string, string> = {}) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imagesearch-first-start-'));
    await chmod(dir, 0o755);
    dirs.push(dir);
    const modelsDir = path.join(dir, 'models');
    await makeTestPack(path.join(modelsDir, 'test-pack'));
    const env = {
      DATA_DIR: path.join(dir, 'data'),
      MODELS_DIR: modelsDir,
      MODELS_ENDPOINT: endpoint,
      ADMIN_API_KEY: KEY,
      INGEST_ROOTS: path.join(dir, 'inbox'),
      OCR: 'off',
      MODELS_WATCH_MS: '300',
      ...extra,
    };
    const log = path.join(dir, 'service.log');
    const service = new ServiceProcess(env, await freePort(), log);
    await service.start();
    const call = async (method: string, url: string, body?: unknown, form?: FormData): Promise<Answer> => {
      const res = await fetch(`${service.url}${url}`, {
        method,
        headers: { authorization: `Bearer ${KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: form ?? (body ? JSON.stringify(body) : undefined),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const stop = async () => {
      await service.stop();
      await killPostgres(path.join(dir, 'data', 'postgres'));
    };
    return { service, call, log, stop, modelsDir };
  };

  const until = async <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  test('serves the test pack at once, installs Chinese-CLIP from the hub in the background and switches to it: every search meanwhile succeeds', async () => {
    const s = await start(hub.endpoint);
    try {
      const form = new FormData();
      form.set('owner', 'ann');
      for (const c of ['red', 'blue', 'green']) form.append('files', new Blob([new Uint8Array(await colourImage(c))]), `${c}.png`);
      const job = await s.call('POST', '/v1/admin/ingest', undefined, form);
      expect(job.status).toBe(202);

      const searches: { status: number; model: unknown }[] = [];
      const installs: Record<string, unknown>[] = [];
      const switched = await until('the switch to the real model', async () => {
        const res = await s.call('POST', '/v1/search/text', { query: '红色', filters: { owner: 'ann' } });
        searches.push({ status: res.status, model: res.body.model });
        const ready = await s.call('GET', '/readyz');
        const install = (ready.body.checks as { model: { install: Record<string, unknown> | null } }).model.install;
        if (install) installs.push(install);
        return String(res.body.model).startsWith('chinese-clip-vit-base-patch16@') && install?.state === 'ready' ? install : undefined;
      });
      expect(searches.filter((r) => r.status !== 200)).toEqual([]);
      expect(searches[0]!.model).toBe('test-pack@1');
      expect(installs.some((i) => (i.totalBytes as number) > 0 && (i.receivedBytes as number) === i.totalBytes)).toBe(true);
      expect(installs.map((i) => i.state)).toContain('ready');

      // The images ingested on the test pack are re-embedded by a job in the job list, then found with the real pack.
      const reindex = await until('the reindex job', async () => {
        const res = await s.call('GET', `/v1/admin/jobs/${String(switched.reindexJobId)}`);
        return res.body.state === 'completed' ? res.body : undefined;
      });
      expect(reindex).toMatchObject({ kind: 'reindex', done: 3 });
      const after = await s.call('POST', '/v1/search/text', { query: '红色', filters: { owner: 'ann' } });
      expect((after.body.hits as unknown[]).length).toBe(3);
      const log = await readFile(s.log, 'utf8');
      expect(log).toMatch(/fetching the real model/);
      expect(log).toMatch(/switched model pack/);
      // A models:fetch while the service runs (another variant) is switched to the same way, without a restart.
      await installPack(installOptionsFromEnv({ MODELS_ENDPOINT: hub.endpoint, MODELS_DIR: s.modelsDir, MODELS_VARIANT: 'quantized' }));
      await until('the switch to the quantized pack', async () => {
        const res = await s.call('POST', '/v1/search/text', { query: '红色', filters: { owner: 'ann' } });
        expect(res.status).toBe(200);
        return String(res.body.model).startsWith('chinese-clip-vit-base-patch16-quantized@') ? true : undefined;
      });
      // Its re-index job is queued as the switch completes (a search may see the new pack a moment before).
      await until('the second re-index job', async () => {
        const jobs = await s.call('GET', '/v1/admin/jobs?limit=10');
        return (jobs.body.jobs as { kind: string }[]).filter((j) => j.kind === 'reindex').length === 2 ? true : undefined;
      });
      // Not a terminal: JSON lines, for a log collector.
      expect(
        log
          .split('\n')
          .filter(Boolean)
          .every((l) => l.startsWith('{')),
      ).toBe(true);
    } finally {
      await s.stop();
    }
  }, 240_000);

  test('offline: the test pack goes on serving, and one log line says why', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const s = await start(closed, { LOG_FORMAT: 'pretty' });
    try {
      const failed = await until('the fetch to fail', async () => {
        const ready = await s.call('GET', '/readyz');
        const install = (ready.body.checks as { model: { install: { state: string; error: string } | null } }).model.install;
        return install?.state === 'failed' ? install : undefined;
      });
      expect(failed.error).toMatch(/cannot reach/);
      expect((await s.call('POST', '/v1/search/text', { query: '红色' })).status).toBe(200);
      const lines = (await readFile(s.log, 'utf8')).split('\n').filter((l) => l.includes('could not fetch the real model'));
      expect(lines).toHaveLength(1);
      // LOG_FORMAT=pretty: a line a person reads, as on a terminal.
      expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d WARN {2}\[packs\] could not fetch the real model/);
      expect(lines[0]).toMatch(/serving the generated test pack; run npm run models:fetch when the hub can be reached, or set MODELS_AUTO_FETCH=false/);
      expect(s.service.running).toBe(true);
    } finally {
      await s.stop();
    }
  }, 120_000);
});
