import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { COLOURS } from '../../scripts/test-pack/concepts';
import { isClean } from '../../src/library/consistency';
import { createTestDatabase } from '../helpers/database';
import { writeColourLibrary } from '../helpers/files';
import { colourImage } from '../helpers/images';
import { tempDir, testEnv } from '../helpers/env';
import { startTestService, startWithColourLibrary, waitForJob, type TestServices as Services } from '../helpers/service';
import { startTcpProxy, throughProxy } from '../helpers/tcpProxy';
import { eventually, startReceiver } from '../helpers/webhookReceiver';
import { ADMIN_SHUTDOWN, failOnce } from '../helpers/failOnce';
import { verifyWebhook } from '../../src/client/imageSearchClient';

const ROOT = path.resolve(__dirname, '../..');
const reconcileWith = (s: Services, fix = false) => s.reconcile(fix);

/** The first statement that updates ingest items (a batch's commit) fails once with `sqlstate`, as the server would fail it. */
const failFirstItemUpdate = (db: Services['db'], error: { message: string; sqlstate: string }) =>
  failOnce(db, { name: 'fail_once', on: 'BEFORE UPDATE ON ingest_items FOR EACH STATEMENT', ...error });

async function expectConsistent(s: Services, images: number) {
  expect(await s.db.image.count({ where: { state: 'indexed' } })).toBe(images);
  expect(await s.db.image.count()).toBe(images);
  expect(await s.images.count()).toBe(images);
  const report = await reconcileWith(s);
  // The report itself shows in the diff when it is not clean.
  expect(isClean(report) ? 'clean' : report).toBe('clean');
}

describe('faults: the vector store goes away mid-ingest', () => {
  test('items stay pending with the error recorded, and a restart completes them', async () => {
    const database = await createTestDatabase();
    const dataDir = await tempDir('outage');
    const first = await startTestService({ ENCODE_BATCH_SIZE: '4', INGEST_WRITE_BATCH: '4' }, { database, dataDir });
    for (const seed of [1, 2, 3]) await writeColourLibrary(path.join(first.inbox, `set${seed}`), seed);
    const job = await first.services.ingest.createFolderJob('alice', '.');
    let stopped = false;
    const run = first.services.ingest.runJob(job, (d) => {
      if (!stopped && d.done) {
        stopped = true;
        void first.services.store.close(); // the store stops answering after the first batch
      }
    });
    await expect(run).rejects.toThrow(/vector store unavailable/);
    const status = (await first.services.ingest.status(job))!;
    expect(status).toMatchObject({ state: 'queued', done: 4, pending: 20, failed: 0, error: expect.stringMatching(/vector store unavailable/) });
    expect(status.errors.length).toBeGreaterThan(0);
    expect((await first.api().get('/readyz')).status).toBe(503);
    const pendingWithError = await first.services.db.image.count({ where: { state: 'pending', error: { contains: 'vector store unavailable' } } });
    expect(pendingWithError).toBe(4);
    await first.close();

    const second = await startTestService({}, { database, dataDir });
    try {
      const resumed = await second.services.ingest.resumeUnfinished();
      // The images the failed batch left pending are this job's: no re-index job takes them (it would
      // encode them from their previews, and this job would then skip them).
      expect(resumed).toEqual([job]);
      expect(await waitForJob(second, job)).toMatchObject({ state: 'completed', done: 24, pending: 0 });
      // As a start does (main.ts): auto tags the outage cut off between row and index (when their stage ran
      // on the first batch before the store went away: at most its four images) reach the index.
      expect(await second.services.library.finishInterruptedChanges()).toBeLessThanOrEqual(4);
      await expectConsistent(second.services, 24);
      const hits = (await second.api().post('/v1/search/text').send({ query: '紫色', limit: 3 })).body.hits as { source: string }[];
      expect(hits.every((h) => h.source.endsWith('purple.jpg'))).toBe(true);
    } finally {
      await second.close();
      await database.drop();
    }
  });
});

describe('faults: PostgreSQL goes away mid-ingest', () => {
  test('a statement an outage ends pauses the job rather than failing it, and the job finishes once PostgreSQL answers', async () => {
    const svc = await startTestService({ ENCODE_BATCH_SIZE: '4', INGEST_WRITE_BATCH: '4', JOB_RETRY_BASE_MS: '200' });
    try {
      await writeColourLibrary(svc.inbox);
      // The first batch's commit ends as a PostgreSQL restart ends a statement (57P01), with the server up again at once.
      await failFirstItemUpdate(svc.database.db, ADMIN_SHUTDOWN);
      const job = await svc.services.ingest.createFolderJob('alice', '.');
      await expect(svc.services.ingest.runJob(job)).rejects.toThrow(/57P01|administrator command/);
      // A failed job is never resumed: the images it had not indexed would be lost.
      expect(await svc.services.ingest.status(job)).toMatchObject({ state: 'queued', error: expect.stringMatching(/^database unavailable: /) });
      expect(await waitForJob(svc, job)).toMatchObject({ state: 'completed', done: 8, pending: 0, failed: 0 });
      await expectConsistent(svc.services, 8);
    } finally {
      await svc.close();
      await svc.database.drop();
    }
  });

  test('a dropped connection pauses the job, which finishes once PostgreSQL answers; a request meanwhile is a 503 database_unavailable', async () => {
    const database = await createTestDatabase();
    const pg = new URL(database.url);
    const proxy = await startTcpProxy({ host: pg.hostname, port: Number(pg.port) });
    const svc = await startTestService(
      { ENCODE_BATCH_SIZE: '4', INGEST_WRITE_BATCH: '4', JOB_RETRY_BASE_MS: '200', JOB_LEASE_MS: '1000', JOB_POLL_MS: '200' },
      { database: { ...database, url: throughProxy(database.url, proxy) }, dataDir: await tempDir('pg-outage') },
    );
    try {
      for (const seed of [1, 2, 3]) await writeColourLibrary(path.join(svc.inbox, `set${seed}`), seed);
      // Polling, as the service does from its start: a job whose holder could not record the outage is claimed again.
      await svc.services.ingest.resumeUnfinished();
      const job = await svc.services.ingest.createFolderJob('alice', '.');
      let dropping = false;
      let attemptEnded = false;
      const first = svc.services.ingest.runJob(job, (d) => {
        if (dropping || !d.done) return;
        dropping = true;
        // What a PostgreSQL restart does to its clients, until the job has met it.
        void (async () => {
          while (!attemptEnded) {
            proxy.drop();
            await new Promise((r) => setTimeout(r, 25));
          }
        })();
      });
      await first.catch(() => undefined);
      attemptEnded = true;
      // Paused, not failed: a failed job is never resumed, and its acknowledged images would never be indexed.
      const paused = await database.db.ingestJob.findUniqueOrThrow({ where: { id: job } });
      expect(paused.state).not.toBe('failed');
      expect(await waitForJob(svc, job)).toMatchObject({ state: 'completed', done: 24, pending: 0, failed: 0 });
      await expectConsistent({ ...svc.services, db: database.db }, 24);

      await proxy.cut();
      const during = await svc.api().get('/v1/images?owner=alice');
      expect(during.status).toBe(503);
      expect(during.body.error.code).toBe('database_unavailable');
      await proxy.restore();
      const after = await svc.api().get('/v1/images?owner=alice&limit=100');
      expect(after.status).toBe(200);
      expect(after.body.images).toHaveLength(24);
    } finally {
      await svc.close();
      await proxy.close();
      await database.drop();
    }
  });
});

describe('faults: the encoder fails mid-job', () => {
  test('the job fails with the reason, keeps what it committed, and a signed job.failed webhook is delivered', async () => {
    const svc = await startTestService({ ENCODE_BATCH_SIZE: '2', INGEST_WRITE_BATCH: '2', WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_POLL_MS: '100' });
    const receiver = await startReceiver();
    try {
      const hook = (
        await svc
          .api()
          .post('/v1/webhooks')
          .send({ url: receiver.url, owner: 'bea', events: ['job.failed', 'job.completed'] })
      ).body as {
        secret: string;
      };
      await writeColourLibrary(svc.inbox);
      const s = svc.services;
      const job = await s.ingest.createFolderJob('bea', '.');
      let released = false;
      const run = s.ingest.runJob(job, (d) => {
        if (!released && d.done) {
          released = true;
          void s.pack.close(); // the ONNX sessions are released for real: the next encode throws
        }
      });
      await expect(run).rejects.toThrow();
      const status = (await s.ingest.status(job))!;
      expect(status).toMatchObject({ state: 'failed', error: expect.any(String) });
      expect(status.done).toBeGreaterThanOrEqual(2);
      expect(await s.db.image.count({ where: { state: 'indexed' } })).toBe(status.done);
      const delivered = await eventually('the job.failed webhook', async () => (receiver.received.length ? receiver.received : undefined));
      expect(delivered).toHaveLength(1);
      expect(verifyWebhook(hook.secret, delivered[0]!.headers, delivered[0]!.body)).toBe(true);
      expect(JSON.parse(delivered[0]!.body)).toMatchObject({
        type: 'job.failed',
        owner: 'bea',
        data: { jobId: job, kind: 'folder', error: status.error, done: status.done },
      });
    } finally {
      await receiver.close();
      await svc.close().catch(() => undefined);
      await svc.database.drop();
    }
  });
});

describe('faults: a job fails for a reason that is then mended', () => {
  test('a failed upload job runs again on request, from the uploads it kept; other states are a 409', async () => {
    const svc = await startTestService({ ENCODE_BATCH_SIZE: '2', INGEST_WRITE_BATCH: '2' });
    try {
      // The first batch's commit fails as a full disk fails it (53100): no outage, so the job fails.
      await failFirstItemUpdate(svc.database.db, { message: 'could not extend file: No space left on device', sqlstate: '53100' });
      let upload = svc.api().post('/v1/admin/ingest').field('owner', 'alice');
      for (const [i, colour] of ['red', 'green', 'blue', 'yellow'].entries()) upload = upload.attach('files', await colourImage(colour), `${i}-${colour}.png`);
      const { jobId } = (await upload.expect(202)).body as { jobId: string };
      expect(await waitForJob(svc, jobId)).toMatchObject({ state: 'failed', done: 0, pending: 4, error: expect.stringMatching(/No space left/) });
      const retried = await svc.api().post(`/v1/admin/jobs/${jobId}/retry`).expect(200);
      expect(retried.body).toMatchObject({ id: jobId, state: expect.stringMatching(/^(queued|running|completed)$/), error: null });
      expect(await waitForJob(svc, jobId)).toMatchObject({ state: 'completed', done: 4, pending: 0, failed: 0 });
      await expectConsistent(svc.services, 4);
      const again = await svc.api().post(`/v1/admin/jobs/${jobId}/retry`).expect(409);
      expect(again.body.error).toMatchObject({ code: 'job_not_failed', message: expect.stringContaining('completed') });
      await svc.api().post(`/v1/admin/jobs/${randomUUID()}/retry`).expect(404);
    } finally {
      await svc.close();
      await svc.database.drop();
    }
  });
});

describe('faults: the ingest process is killed', () => {
  test('resuming the job finishes it with no duplicates and no orphans', async () => {
    const database = await createTestDatabase();
    const dataDir = await tempDir('killed');
    const folder = await tempDir('many');
    const total = 120;
    for (let i = 0; i < total; i++) {
      const dir = path.join(folder, `d${i % 4}`);
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, `${i}.png`), await colourImage(COLOURS[i % COLOURS.length]!.key, { seed: i + 1 }));
    }
    const env = {
      ...process.env,
      DATABASE_URL: database.url,
      DATA_DIR: dataDir,
      MODEL_DIR: testEnv('TEST_MODEL_DIR'),
      LOG_LEVEL: 'silent',
      ENCODE_BATCH_SIZE: '2',
      INGEST_WRITE_BATCH: '2',
      DECODE_CONCURRENCY: '1',
      // A lease long enough that the resume could only wait it out by timing out: it must see the holder is gone.
      JOB_LEASE_MS: '600000',
    };
    // Node itself with the tsx loader, not the tsx CLI: that CLI runs the script in a child it
    // cannot pass SIGKILL on to, so the "killed" ingest would go on in the background.
    const cli = (...args: string[]) =>
      spawn(process.execPath, ['--import', 'tsx', 'src/cli/ingest.ts', ...args], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
    const child = cli(folder, '--owner', 'kim', '--no-progress');
    const exited = new Promise((resolve) => child.on('exit', resolve));
    // Kill it for real once some work has been committed.
    const { db } = database;
    for (let i = 0; ; i++) {
      if ((await db.ingestItem.count({ where: { state: 'done' } })) >= 6) break;
      // A minute: the CLI starts a runtime and loads the model pack first, slow on a loaded machine.
      if (i > 2400) throw new Error('the ingest never made progress');
      await new Promise((r) => setTimeout(r, 25));
    }
    child.kill('SIGKILL');
    await exited;
    const job = await db.ingestJob.findFirstOrThrow();
    expect(job.state).toBe('running');
    const doneBefore = await db.ingestItem.count({ where: { state: 'done' } });
    expect(doneBefore).toBeLessThan(total);

    const resume = cli('--resume', job.id, '--no-progress');
    let stderr = '';
    resume.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise((resolve) => resume.on('exit', resolve));
    expect({ code, stderr }).toMatchObject({ code: 0 }); // stderr shows up in the diff when it fails

    const svc = await startTestService({}, { database, dataDir });
    try {
      expect(await svc.services.ingest.status(job.id)).toMatchObject({ state: 'completed', done: total, pending: 0, failed: 0 });
      await expectConsistent(svc.services, total);
    } finally {
      await svc.close();
      await database.drop();
    }
  });
});

describe('reconcile', () => {
  test('finds missing vectors, orphan points, stale models and stuck rows, and repairs them', async () => {
    // With auto tags on, as by default: their stage writes rows and payloads while the repair's re-index runs.
    const svc = await startTestService();
    try {
      const s = svc.services;
      await writeColourLibrary(svc.inbox);
      await s.ingest.runJob(await s.ingest.createFolderJob('alice', '.'));
      await expectConsistent(s, 8);
      const [a, b, c] = await s.db.image.findMany({ orderBy: { source: 'asc' }, take: 3 });
      const orphan = randomUUID();
      await s.images.delete([a!.id]);
      await s.images.upsert([{ id: orphan, vector: (await s.images.retrieve([b!.id]))[0]!.vector, payload: { owner: 'alice', albums: [] } }]);
      await s.db.image.update({ where: { id: b!.id }, data: { modelPack: 'old-pack@0' } });
      await s.db.image.update({ where: { id: c!.id }, data: { state: 'pending' } });

      const report = await reconcileWith(s);
      expect(report).toMatchObject({ missingVectors: [a!.id], orphanPoints: [orphan], staleModel: [b!.id], stuckPending: [c!.id] });
      // The search never shows what Postgres does not vouch for, even before the repair.
      const before = (await svc.api().post('/v1/search/text').send({ query: '红', limit: 20 })).body.hits as { id: string }[];
      expect(before.map((h) => h.id)).not.toContain(orphan);

      const api = await svc.api().post('/v1/admin/reconcile').send({ fix: true });
      expect(api.status).toBe(200);
      expect(api.body.reindexJobId).toEqual(expect.any(String));
      await waitForJob(svc, api.body.reindexJobId);
      await expectConsistent(s, 8);
      expect((await s.db.image.findUniqueOrThrow({ where: { id: b!.id } })).modelPack).toBe('test-pack@1');
    } finally {
      await svc.close();
      await svc.database.drop();
    }
  });

  test('a change a crash cut off between Postgres and the index is finished at the next start; reconcile finds payload drift and orphan files (found by the crash soak)', async () => {
    const { database, dataDir, svc: first } = await startWithColourLibrary('payloads');
    await first.services.stages.idle();
    // Marks a background stage's write left behind (OCR touched the row after auto tags marked it) go first,
    // so the drift below is found only by the comparison, never quietly repaired by the start.
    await first.services.library.finishInterruptedChanges();
    const [changed, drifted] = await first.services.db.image.findMany({ orderBy: { source: 'asc' }, take: 2 });
    // The PATCH's row is written, then the process dies before the index has it: what repos.update alone does.
    await first.services.repos.images.update({ id: changed!.id }, 'alice', { tags: ['旅行'] });
    // An older version's drift, with no mark: only a comparison finds it.
    await first.services.db.image.update({ where: { id: drifted!.id }, data: { favorite: true } });
    // A file a killed batch wrote before its rows, and one a killed writer left half-written.
    const orphan = randomUUID();
    await first.services.derivatives.put('thumbnail', orphan, Buffer.from('jpeg'));
    const old = new Date(Date.now() - 3_600_000);
    await utimes(first.services.derivatives.pathFor('thumbnail', orphan), old, old);
    const deadWriter = path.join(dataDir, 'derivatives', '.tmp', '99999999-dead');
    await mkdir(deadWriter, { recursive: true });
    await writeFile(path.join(deadWriter, `${orphan}.jpg.1234`), 'half');
    const tagged = (svc: typeof first) =>
      svc
        .api()
        .post('/v1/search/text')
        .send({ query: '红', filters: { owner: 'alice', tags: ['旅行'] } });
    expect((await tagged(first)).body.hits).toEqual([]);
    await first.close();

    const second = await startTestService({}, { database, dataDir });
    try {
      // The PATCH.
      expect(await second.services.library.finishInterruptedChanges()).toBe(1);
      expect((await tagged(second)).body.hits.map((h: { id: string }) => h.id)).toEqual([changed!.id]);
      expect(existsSync(deadWriter)).toBe(false);
      const report = await second.services.reconcile(false);
      expect(report).toMatchObject({ payloadDrift: [drifted!.id], orphanFiles: [second.services.derivatives.pathFor('thumbnail', orphan)] });
      await second.services.reconcile(true);
      expect(isClean(await second.services.reconcile(false))).toBe(true);
      const favourites = await second
        .api()
        .post('/v1/search/text')
        .send({ query: '蓝', filters: { owner: 'alice', favorite: true } });
      expect(favourites.body.hits.map((h: { id: string }) => h.id)).toEqual([drifted!.id]);
    } finally {
      await second.close();
      await database.drop();
    }
  });

  test('files a batch killed before its rows left are orphans to reconcile at once when no job can be writing (found by the crash soak)', async () => {
    const { database, dataDir, svc: first } = await startWithColourLibrary('orphan-files');
    const live = await first.services.db.image.findMany({ select: { id: true } });
    // A batch's files, seconds old, whose rows never came: its process was killed during an owner purge, which had
    // cancelled the job already, so no resumed job writes them again.
    const orphan = randomUUID();
    await first.services.derivatives.put('thumbnail', orphan, Buffer.from('jpeg'));
    const recent = new Date(Date.now() - 5_000);
    await utimes(first.services.derivatives.pathFor('thumbnail', orphan), recent, recent);
    const orphanFiles = async (s: Services) => (await s.reconcile(false)).orphanFiles;
    const file = first.services.derivatives.pathFor('thumbnail', orphan);
    expect(await orphanFiles(first.services)).toEqual([file]);
    // While a job is queued, or a cancelled one's holder still holds it (it may be writing its last batch), such a file
    // may be one whose rows are about to be written.
    const queued = await first.services.ingest.createFolderJob('bob', '.');
    expect(await orphanFiles(first.services)).toEqual([]);
    await first.services.ingest.cancel(queued, 'bob');
    expect(await orphanFiles(first.services)).toEqual([file]);
    const deadHolder = `${hostname()}:99999999:dead`;
    await first.services.db.ingestJob.update({ where: { id: queued }, data: { leaseOwner: deadHolder, leaseUntil: new Date(Date.now() + 3_600_000) } });
    expect(await orphanFiles(first.services)).toEqual([]);
    await first.close();
    const second = await startTestService({}, { database, dataDir });
    try {
      // What the service does at start frees the dead process's lease, cancelled job or not.
      await second.services.ingest.resumeUnfinished();
      await second.services.reconcile(true);
      expect(existsSync(file)).toBe(false);
      expect(isClean(await second.services.reconcile(false))).toBe(true);
      for (const { id } of live) expect(second.services.derivatives.has('thumbnail', id)).toBe(true);
    } finally {
      await second.close();
      await database.drop();
    }
  });
});
