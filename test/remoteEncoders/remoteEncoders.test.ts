import type { ChildProcess } from 'node:child_process';
import { startEncoderProcess } from '../../bench/encoderProcess';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { COLOURS } from '../../scripts/test-pack/concepts';
import { colourImage } from '../helpers/images';
import { testEnv } from '../helpers/env';
import { startTestService } from '../helpers/service';
import { editedTestPack } from '../helpers/testPack';

const TOKEN = 'encoder-test-token';

interface Encoder {
  url: string;
  process: ChildProcess;
  health(): Promise<{ pack: string; encoded: { images: number; texts: number } }>;
  stop(): Promise<void>;
}

/** `npm run encoder` for real: its own process on a loopback port, serving the pack in `modelDir`. */
async function startEncoder(modelDir = testEnv('TEST_MODEL_DIR'), extra: Record<string, string> = {}): Promise<Encoder> {
  const { url, child } = await startEncoderProcess({ MODEL_DIR: modelDir, ENCODER_TOKEN: TOKEN, ...extra });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url,
    process: child,
    health: async () => (await (await fetch(`${url}/healthz`)).json()) as { pack: string; encoded: { images: number; texts: number } },
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function writeLibrary(dir: string, count: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < count; i++) {
    await writeFile(path.join(dir, `${i}.png`), await colourImage(COLOURS[i % COLOURS.length]!.key, { seed: 500 + i }));
  }
}

describe('remote encoders (npm run encoder) over loopback HTTP', () => {
  test('two encoders share an ingest; one killed mid-job: the job completes with no failures and no duplicates', async () => {
    const [a, b] = await Promise.all([startEncoder(), startEncoder()]);
    let localImages = 0;
    const svc = await startTestService(
      {
        ENCODER_URLS: `${a.url},${b.url}`,
        ENCODER_TOKEN: TOKEN,
        ENCODE_BATCH_SIZE: '2',
        INGEST_WRITE_BATCH: '2',
        DECODE_CONCURRENCY: '1',
        OCR: 'off',
      },
      undefined,
      { onEncoderRun: (run) => void (run.kind === 'image' && (localImages += run.items)) },
    );
    try {
      const s = svc.services;
      expect(s.encoders!.status().map((e) => e.state)).toEqual(['up', 'up']);
      const total = 40;
      localImages = 0; // the pack's own check at load encodes one image locally
      await writeLibrary(path.join(svc.inbox, 'many'), total);
      const job = await s.ingest.createFolderJob('remy', 'many');
      let killed = false;
      await s.ingest.runJob(job, (d) => {
        if (!killed && d.done) {
          killed = true;
          a.process.kill('SIGKILL');
        }
      });
      expect(await s.ingest.status(job)).toMatchObject({ state: 'completed', done: total, failed: 0, pending: 0 });
      expect(await s.db.image.count({ where: { owner: 'remy', state: 'indexed' } })).toBe(total);
      expect(await s.images.count()).toBe(total);
      expect(s.encoders!.status().map((e) => e.state)).toEqual(['down', 'up']);
      // The survivor did the rest of the work, not the local fallback (how much is left at the kill varies with load).
      const survivor = await b.health();
      expect(survivor.encoded.images).toBeGreaterThan(0);
      expect(localImages).toBe(0);
      // Searches encode remotely too, and find what was ingested.
      const res = await svc
        .api()
        .post('/v1/search/text')
        .send({ query: '紫色', limit: 3, filters: { owner: 'remy' } });
      expect(res.status).toBe(200);
      expect((res.body as { hits: unknown[] }).hits).toHaveLength(3);
      expect((await b.health()).encoded.texts).toBeGreaterThan(survivor.encoded.texts);
      const ready = await svc.api().get('/readyz');
      expect(ready.body.checks.encoders).toEqual([
        expect.objectContaining({ url: a.url, state: 'down', error: expect.any(String) }),
        expect.objectContaining({ url: b.url, state: 'up' }),
      ]);
    } finally {
      await svc.close();
      await svc.database.drop();
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  test('an encoder serving another pack is refused with a clear error, and nothing it says reaches the index', async () => {
    const other = await editedTestPack((m) => ({ ...m, name: 'someone-elses-pack' }));
    const foreign = await startEncoder(other, { MODEL_VERIFY_CHECKSUMS: 'false' });
    const svc = await startTestService({ ENCODER_URLS: foreign.url, ENCODER_TOKEN: TOKEN, OCR: 'off' });
    try {
      const [status] = svc.services.encoders!.status();
      expect(status).toMatchObject({
        state: 'incompatible',
        error: expect.stringMatching(/serves someone-elses-pack@1 .* this service indexes with test-pack@1 .*refused/),
      });
      await writeLibrary(svc.inbox, 4);
      const job = await svc.services.ingest.createFolderJob('rita', '.');
      await svc.services.ingest.runJob(job);
      expect(await svc.services.ingest.status(job)).toMatchObject({ state: 'completed', done: 4 });
      expect((await svc.api().post('/v1/search/text').send({ query: '红色' })).status).toBe(200);
      expect((await foreign.health()).encoded).toEqual({ images: 0, texts: 0 });
    } finally {
      await svc.close();
      await svc.database.drop();
      await foreign.stop();
    }
  });

  test('an encoder that stops answering costs one timeout, then searches skip it; bad requests get JSON errors', async () => {
    const real = await startEncoder();
    // Answers health checks as the real encoder does (same pack), then hangs on every encode request.
    const health = JSON.stringify(await real.health());
    const hanging = http.createServer((req, res) => {
      if (req.url === '/healthz') res.setHeader('content-type', 'application/json').end(health);
    });
    await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`;
    const svc = await startTestService({ ENCODER_URLS: url, ENCODER_TOKEN: TOKEN, ENCODER_TIMEOUT_MS: '300', ENCODER_HEALTH_MS: '60000', OCR: 'off' });
    try {
      const size = svc.services.pack.image.preprocessing.size;
      expect(svc.services.encoders!.status()[0]!.state).toBe('up');
      for (const query of ['红色', '蓝色']) expect((await svc.api().post('/v1/search/text').send({ query })).status).toBe(200);
      expect(svc.services.encoders!.status()[0]).toMatchObject({ state: 'down', error: expect.stringMatching(/timeout|abort/i) });

      const post = (p: string, init: RequestInit) => fetch(`${real.url}${p}`, { method: 'POST', ...init });
      const unauthorised = await post('/v1/encode/text', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ texts: ['猫'] }) });
      expect(unauthorised.status).toBe(401);
      expect(((await unauthorised.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
      const auth = { authorization: `Bearer ${TOKEN}` };
      const empty = await post('/v1/encode/text', { headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ texts: [] }) });
      expect(empty.status).toBe(400);
      const ragged = await post('/v1/encode/image', {
        headers: { ...auth, 'content-type': 'application/octet-stream', 'x-image-size': String(size) },
        body: Buffer.alloc(3 * size * size * 4 + 4),
      });
      expect(ragged.status).toBe(400);
      expect(((await ragged.json()) as { error: { code: string } }).error.code).toBe('bad_tensor_length');
      const ok = await post('/v1/encode/text', { headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ texts: ['猫', '狗'] }) });
      expect(ok.headers.get('x-model-pack')).toBe('test-pack@1');
      expect(((await ok.json()) as { embeddings: number[][] }).embeddings).toHaveLength(2);
    } finally {
      await svc.close();
      await svc.database.drop();
      await real.stop();
      hanging.closeAllConnections();
      await new Promise((r) => hanging.close(r));
    }
  });
});
