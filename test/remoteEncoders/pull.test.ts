import { mkdir, writeFile } from 'node:fs/promises';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { startEncoderProcess } from '../../bench/encoderProcess';
import { COLOURS } from '../../scripts/test-pack/concepts';
import { floatsToBuffer, tensorsFromBuffer } from '../../src/remoteEncoders/protocol';
import { ImageSearchClient } from '../../src/client/imageSearchClient';
import { colourImage } from '../helpers/images';
import { testEnv } from '../helpers/env';
import { startTestService, type TestService } from '../helpers/service';
import { eventually } from '../helpers/webhookReceiver';

/** Leases expire after a second and are looked for every second, so an abandoned batch comes back quickly. */
const PULLING = {
  PULL_ENCODERS: 'on',
  PULL_LEASE_SECONDS: '1',
  PULL_MAINTENANCE_SECONDS: '1',
  PULL_POLL_MS: '50',
  ENCODE_BATCH_SIZE: '2',
  INGEST_WRITE_BATCH: '2',
  OCR: 'off',
};

async function writeLibrary(dir: string, count: number, seed: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < count; i++) await writeFile(path.join(dir, `${i}.png`), await colourImage(COLOURS[i % COLOURS.length]!.key, { seed: seed + i }));
}

async function listen(svc: TestService): Promise<{ url: string; server: http.Server }> {
  const server = svc.app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function workerKey(svc: TestService): Promise<string> {
  return (await svc.services.keys.create('gpu-desktop', null, ['worker'])).key;
}

describe('pull encoders: workers lease ingest batches from the service (pg-boss on the real PostgreSQL)', () => {
  test('a worker process is killed mid-job: its lease expires, another worker redoes the batch, nothing is lost or doubled', async () => {
    // Only workers encode here, so the job can finish only if the killed worker's batch comes back to the queue.
    const svc = await startTestService({ ...PULLING, PULL_LOCAL_ENCODER: 'false' });
    const { url, server } = await listen(svc);
    const env = { MODEL_DIR: testEnv('TEST_MODEL_DIR'), SERVICE_URL: url, WORKER_KEY: await workerKey(svc), PULL_POLL_MS: '20' };
    const answered = (output: () => string) =>
      output()
        .split('\n')
        .filter((l) => l.includes('answered batch')).length;
    const first = await startEncoderProcess(env, 'pull worker is leasing batches');
    const firstExited = new Promise((r) => first.child.once('exit', r));
    let second: Awaited<ReturnType<typeof startEncoderProcess>> | null = null;
    try {
      const total = 40;
      await writeLibrary(path.join(svc.inbox, 'pulled'), total, 900);
      const s = svc.services;
      const job = await s.ingest.createFolderJob('pia', 'pulled');
      let killedAfter = -1;
      const run = s.ingest.runJob(job, () => {
        if (killedAfter < 0 && answered(first.output) >= 2) {
          killedAfter = answered(first.output);
          first.child.kill('SIGKILL');
        }
      });
      await firstExited;
      expect(killedAfter).toBeGreaterThanOrEqual(2);
      expect(killedAfter).toBeLessThan(total / 2);
      second = await startEncoderProcess(env, 'pull worker is leasing batches');
      await run;
      expect(answered(second.output)).toBeGreaterThan(0);
      expect(await s.ingest.status(job)).toMatchObject({ state: 'completed', done: total, failed: 0, pending: 0 });
      expect(await s.db.image.count({ where: { owner: 'pia', state: 'indexed' } })).toBe(total);
      expect(await s.images.count()).toBe(total);
      const hits = (
        await svc
          .api()
          .post('/v1/search/text')
          .send({ query: '紫色', limit: 3, filters: { owner: 'pia' } })
      ).body as { hits: { source: string }[] };
      expect(hits.hits.map((h) => h.source.split('/').pop())).toEqual(expect.arrayContaining([expect.stringMatching(/\.png$/)]));
    } finally {
      first.child.kill('SIGKILL');
      second?.child.kill('SIGKILL');
      await firstExited;
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await svc.close();
      await svc.database.drop();
    }
  });

  test('an expired lease is leased again; the first answer is accepted, a late one refused; a foreign pack is refused', async () => {
    const svc = await startTestService({ ...PULLING, PULL_LOCAL_ENCODER: 'false' });
    const { url, server } = await listen(svc);
    try {
      const client = new ImageSearchClient({ baseUrl: url, apiKey: await workerKey(svc) });
      const pack = svc.services.pack;
      await expect(client.leaseBatch('someone-elses-pack@1')).rejects.toMatchObject({ status: 409, code: 'pack_mismatch' });
      expect(await client.leaseBatch(pack.key)).toEqual({ lease: null });
      await writeLibrary(path.join(svc.inbox, 'two'), 2, 950);
      const job = await svc.services.ingest.createFolderJob('pam', 'two');
      const run = svc.services.ingest.runJob(job);

      const first = await eventually('a batch to lease', async () => (await client.leaseBatch(pack.key)).lease ?? undefined);
      expect(first).toMatchObject({ pack: pack.key, count: 2, size: pack.image.preprocessing.size });
      // Not answered: once the lease expires the batch is handed out again.
      const again = await eventually('the batch to come back', async () => (await client.leaseBatch(pack.key)).lease ?? undefined, 15_000);
      expect(again.id).toBe(first.id);
      const images = tensorsFromBuffer(Buffer.from(again.tensors, 'base64'), again.count, again.size);
      const vectors = await pack.image.encode(images, 'interactive');
      const embeddings = floatsToBuffer(vectors).toString('base64');
      await expect(client.answerBatch(again.id, { pack: pack.key, embeddings: Buffer.alloc(8).toString('base64') })).rejects.toMatchObject({ status: 400 });
      expect(await client.answerBatch(again.id, { pack: pack.key, embeddings })).toEqual({ id: again.id, accepted: true });
      await expect(client.answerBatch(first.id, { pack: pack.key, embeddings })).rejects.toMatchObject({ status: 409, code: 'lease_gone' });
      await run;
      expect(await svc.services.ingest.status(job)).toMatchObject({ state: 'completed', done: 2, failed: 0 });
      // A finished batch's tensors do not stay behind in the database.
      expect(await svc.services.db.$queryRawUnsafe(`select count(*)::int as n from pgboss.job where name = 'encode-images'`)).toEqual([{ n: 0 }]);
      // The vectors stored are the ones the worker answered.
      const ids = (await svc.services.db.image.findMany({ where: { owner: 'pam' }, select: { id: true } })).map((r) => r.id);
      const stored = await svc.services.images.retrieve(ids);
      const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, x, i) => sum + x * b[i]!, 0);
      for (const point of stored) expect(Math.max(...vectors.map((v) => dot(v, point.vector)))).toBeCloseTo(1, 4);
      // An API key without the worker scope may not lease.
      await expect(
        new ImageSearchClient({ baseUrl: url, apiKey: (await svc.services.keys.create('app', null, ['search', 'ingest'])).key }).leaseBatch(pack.key),
      ).rejects.toMatchObject({
        status: 403,
      });
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await svc.close();
      await svc.database.drop();
    }
  });
});
