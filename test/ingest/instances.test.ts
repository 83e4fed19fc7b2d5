import { spawn } from 'node:child_process';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { writeColourLibrary } from '../helpers/files';
import { tempDir, testEnv } from '../helpers/env';
import { startTestService, type TestService } from '../helpers/service';
import { eventually, startReceiver } from '../helpers/webhookReceiver';

const ROOT = path.resolve(__dirname, '../..');

/**
 * Two service instances on one PostgreSQL, as behind a load balancer. Each has its own data folder and
 * embedded index here (a real deployment shares Qdrant and the data folder), which is what makes it
 * visible which instance ran which job.
 */
describe('several service instances sharing one database', () => {
  let database: TestDatabase;
  let shared: string;
  let a: TestService;
  let b: TestService;
  const env = () => ({
    INGEST_ROOTS: shared,
    OCR: 'off',
    JOB_POLL_MS: '100',
    JOB_LEASE_MS: '2000',
    ENCODE_BATCH_SIZE: '2',
    INGEST_WRITE_BATCH: '2',
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_POLL_MS: '50',
  });

  beforeAll(async () => {
    database = await createTestDatabase();
    shared = await tempDir('shared-inbox');
    for (let seed = 1; seed <= 6; seed++) await writeColourLibrary(path.join(shared, `set${seed}`), seed);
    a = await startTestService(env(), { database, dataDir: await tempDir('instance-a') });
    b = await startTestService(env(), { database, dataDir: await tempDir('instance-b') });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await database?.drop();
  });

  async function jobsEnded(ids: string[], timeoutMs = 60_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const rows = await database.db.ingestJob.findMany({ where: { id: { in: ids } }, select: { state: true } });
      if (rows.every((r) => r.state !== 'queued' && r.state !== 'running')) return;
      if (Date.now() > until) throw new Error(`jobs did not end: ${rows.map((r) => r.state).join(', ')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const indexedIds = async (svc: TestService) => {
    const rows = await database.db.image.findMany({ where: { state: 'indexed' }, select: { id: true } });
    const stored = await svc.services.images.retrieve(rows.map((r) => r.id));
    return stored.map((p) => p.id);
  };

  test('jobs queued on one instance are run once each, by whichever instance is free; each webhook is sent once', async () => {
    const receiver = await startReceiver();
    for (let seed = 1; seed <= 4; seed++)
      await a
        .api()
        .post('/v1/webhooks')
        .send({ url: receiver.url, owner: `owner${seed}`, events: ['job.completed'] })
        .expect(201);
    await Promise.all([a.services.ingest.resumeUnfinished(), b.services.ingest.resumeUnfinished()]);
    const jobs: string[] = [];
    for (let seed = 1; seed <= 4; seed++) {
      const res = await a
        .api()
        .post('/v1/admin/ingest')
        .send({ owner: `owner${seed}`, folder: `set${seed}` })
        .expect(202);
      jobs.push(res.body.jobId as string);
    }
    await jobsEnded(jobs);
    const statuses = await Promise.all(jobs.map(async (id) => (await b.api().get(`/v1/admin/jobs/${id}`).expect(200)).body));
    for (const s of statuses) expect(s).toMatchObject({ state: 'completed', total: 8, done: 8, failed: 0, pending: 0 });
    // Each image's vector was written by exactly one instance, and both instances took jobs.
    const [byA, byB] = await Promise.all([indexedIds(a), indexedIds(b)]);
    expect(byA.length + byB.length).toBe(32);
    expect(byA.filter((id) => byB.includes(id))).toEqual([]);
    expect(byA.length).toBeGreaterThan(0);
    expect(byB.length).toBeGreaterThan(0);
    expect(await database.db.ingestJob.count({ where: { leaseOwner: { not: null } } })).toBe(0);
    // Both instances send webhooks from the one outbox, polling every 50 ms: still one request per event.
    const bodies = await eventually('four job.completed webhooks', async () => (receiver.received.length >= 4 ? receiver.received : undefined));
    await new Promise((r) => setTimeout(r, 300));
    const events = bodies.map((b) => JSON.parse(b.body) as { id: string; data: { jobId: string } });
    expect(events.map((e) => e.data.jobId).sort()).toEqual([...jobs].sort());
    expect(receiver.received).toHaveLength(4);
    await receiver.close();
  });

  test('a job cancelled on one instance stops on the instance running it, after its batch', async () => {
    // Only A looks for work from here on.
    await b.services.ingest.stop();
    const job = await a.services.ingest.createFolderJob('olga', '.');
    let cancelled: Promise<{ state: string; done: number; pending: number }> | null = null;
    const run = a.services.ingest.runJob(job, () => {
      cancelled ??= b
        .api()
        .post(`/v1/admin/jobs/${job}/cancel`)
        .expect(200)
        .then((r) => r.body as { state: string; done: number; pending: number });
    });
    await run;
    const answer = await cancelled!;
    expect(answer.state).toBe('cancelled');
    expect(answer.pending).toBeGreaterThan(0);
    // B answered once A had let the job go: nothing was written after the answer.
    const after = (await a.services.ingest.status(job))!;
    expect({ state: after.state, done: after.done }).toEqual({ state: 'cancelled', done: answer.done });
    expect(await database.db.ingestJob.findUniqueOrThrow({ where: { id: job } })).toMatchObject({ leaseOwner: null });
  });

  test('a job whose process was killed is taken over by another instance at once, its process being gone', async () => {
    // No instance looks for work while the CLI starts: the job is the CLI's own.
    await a.services.ingest.stop();
    const more = path.join(shared, 'for-the-cli');
    for (let seed = 10; seed < 16; seed++) await writeColourLibrary(path.join(more, `s${seed}`), seed);
    const cli = spawn(process.execPath, ['--import', 'tsx', 'src/cli/ingest.ts', more, '--owner', 'pia', '--no-progress'], {
      cwd: ROOT,
      env: {
        ...process.env,
        ...env(),
        DATABASE_URL: database.url,
        DATA_DIR: await tempDir('instance-cli'),
        // Far longer than the test: the instance that takes over must see that the CLI's process is gone.
        JOB_LEASE_MS: '600000',
        MODEL_DIR: testEnv('TEST_MODEL_DIR'),
        LOG_LEVEL: 'silent',
        DECODE_CONCURRENCY: '1',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    cli.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise((resolve) => cli.on('exit', resolve));
    const done = () => database.db.ingestItem.count({ where: { state: 'done', job: { owner: 'pia' } } });
    for (let i = 0; (await done()) < 4; i++) {
      if (i > 1200) throw new Error(`the CLI never made progress: ${stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    cli.kill('SIGKILL');
    await exited;
    const job = await database.db.ingestJob.findFirstOrThrow({ where: { owner: 'pia' } });
    expect(job).toMatchObject({ state: 'running', leaseOwner: expect.stringContaining(`:${cli.pid}:`) });
    const doneByCli = await done();
    expect(doneByCli).toBeLessThan(48);

    const c = await startTestService(env(), { database, dataDir: await tempDir('instance-c') });
    try {
      await c.services.ingest.resumeUnfinished();
      await jobsEnded([job.id]);
      expect(await c.services.ingest.status(job.id)).toMatchObject({ state: 'completed', total: 48, done: 48, failed: 0, pending: 0 });
      // C wrote what the killed process had not (and at most the batch it was writing when killed).
      const ids = (await database.db.image.findMany({ where: { owner: 'pia' }, select: { id: true } })).map((r) => r.id);
      const byC = await c.services.images.retrieve(ids);
      expect(byC.length).toBeGreaterThanOrEqual(48 - doneByCli);
      expect(byC.length).toBeLessThanOrEqual(48 - doneByCli + 2);
    } finally {
      await c.close();
    }
  });
});
