import path from 'node:path';
import { writeColourLibrary } from '../helpers/files';
import { colourImage } from '../helpers/images';
import { startTestService, waitForJob } from '../helpers/service';

describe('ingest jobs: listing and cancelling', () => {
  test('jobs list newest first with a state filter and cursor paging; tenants see their own', async () => {
    const svc = await startTestService();
    try {
      const ingest = svc.services.ingest;
      const ids: string[] = [];
      for (const owner of ['alice', 'alice', 'bob', 'alice'])
        ids.push(await ingest.createUploadJob(owner, [{ name: 'a.png', data: await colourImage('red') }]));
      await ingest.runJob(ids[0]!);
      const all = (await svc.api().get('/v1/admin/jobs?limit=10').expect(200)).body.jobs as { id: string; state: string; owner: string }[];
      expect(all.map((j) => j.id)).toEqual([...ids].reverse());
      const queued = (await svc.api().get('/v1/admin/jobs?state=queued&owner=alice').expect(200)).body.jobs as { id: string }[];
      expect(queued.map((j) => j.id)).toEqual([ids[3], ids[1]]);
      const first = (await svc.api().get('/v1/admin/jobs?limit=2').expect(200)).body;
      const second = (
        await svc
          .api()
          .get(`/v1/admin/jobs?limit=2&cursor=${first.nextCursor as string}`)
          .expect(200)
      ).body;
      expect([...first.jobs, ...second.jobs].map((j: { id: string }) => j.id)).toEqual([...ids].reverse());
      expect(second.nextCursor).toBeNull();
      const { key } = await svc.services.keys.create('bob-app', 'bob', ['search', 'ingest']);
      const bobs = (await svc.api(key).get('/v1/admin/jobs').expect(200)).body.jobs as { owner: string }[];
      expect(bobs.map((j) => j.owner)).toEqual(['bob']);
      expect((await svc.api().get('/v1/admin/jobs?state=paused')).status).toBe(400);
    } finally {
      await svc.close();
      await svc.database.drop();
    }
  });

  test('a queued job is cancelled at once and never resumed; a finished one is a 409; a running one stops after its batch', async () => {
    const svc = await startTestService({ ENCODE_BATCH_SIZE: '4', INGEST_WRITE_BATCH: '4' });
    try {
      const ingest = svc.services.ingest;
      const queued = await ingest.createUploadJob('alice', [{ name: 'a.png', data: await colourImage('red') }]);
      const cancelled = await svc.api().post(`/v1/admin/jobs/${queued}/cancel`).expect(200);
      expect(cancelled.body).toMatchObject({ id: queued, state: 'cancelled', pending: 1 });
      expect((await svc.api().post(`/v1/admin/jobs/${queued}/cancel`).expect(200)).body.state).toBe('cancelled');
      expect(await ingest.resumeUnfinished()).not.toContain(queued);
      await ingest.runJob(queued);
      expect((await ingest.status(queued))!.state).toBe('cancelled');

      for (const seed of [1, 2, 3]) await writeColourLibrary(path.join(svc.inbox, `set${seed}`), seed);
      const running = await ingest.createFolderJob('alice', '.');
      let asked = false;
      await ingest.runJob(running, (d) => {
        if (!asked && d.done) {
          asked = true;
          void ingest.cancel(running, undefined);
        }
      });
      const status = (await ingest.status(running))!;
      expect(status.state).toBe('cancelled');
      expect(status.done).toBeGreaterThanOrEqual(4);
      expect(status.pending).toBeGreaterThan(0);

      const done = await ingest.createUploadJob('alice', [{ name: 'b.png', data: await colourImage('blue') }]);
      ingest.enqueue(done);
      await waitForJob(svc, done);
      const late = await svc.api().post(`/v1/admin/jobs/${done}/cancel`);
      expect([late.status, late.body.error.code]).toEqual([409, 'job_finished']);
      expect((await svc.api().post('/v1/admin/jobs/00000000-0000-4000-8000-000000000000/cancel')).status).toBe(404);
    } finally {
      await svc.close();
      await svc.database.drop();
    }
  });

  test('a job told to stop finishes the batch it is writing and writes nothing after it', async () => {
    const svc = await startTestService({ ENCODE_BATCH_SIZE: '2', INGEST_WRITE_BATCH: '2', OCR: 'off' });
    try {
      await writeColourLibrary(path.join(svc.inbox, 'set'), 1);
      const job = await svc.services.ingest.createFolderJob('alice', 'set');
      // The second batch's vectors are held back until the stop has been asked: that is the moment a
      // cancel elsewhere can land, seen at a lease renewal while a batch is encoded and the next is read.
      const image = svc.services.pack.image;
      const encode = image.encode.bind(image);
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let encodes = 0;
      jest.spyOn(image, 'encode').mockImplementation(async (...args) => {
        const vectors = await encode(...args);
        if (++encodes === 2) await held;
        return vectors;
      });
      const stopping: Promise<void>[] = [];
      await svc.services.ingest.runJob(job, () => {
        // Once the first batch is written, while the second is still being encoded.
        if (stopping.length === 0)
          stopping.push(
            new Promise((r) => setImmediate(r)).then(() => {
              const stopped = svc.services.ingest.stop();
              release();
              return stopped;
            }),
          );
      });
      await Promise.all(stopping);
      const status = (await svc.services.ingest.status(job))!;
      expect(status).toMatchObject({ state: 'running', done: 2 });
      expect(status.pending).toBe(status.total - 2);
      expect(await svc.services.db.image.count({ where: { state: 'indexed' } })).toBe(2);
    } finally {
      await svc.close();
      await svc.database.drop();
    }
  });

  test('writes come in INGEST_WRITE_BATCH frames while the encoder runs its own batch size', async () => {
    const svc = await startTestService({ ENCODE_BATCH_SIZE: '1', INGEST_WRITE_BATCH: '4', OCR: 'off' });
    try {
      const imageRuns = async () => {
        const text = (await svc.api(null).get('/metrics').expect(200)).text;
        return Number(/^encoder_run_duration_seconds_count\{kind="image"\} (\d+)$/m.exec(text)?.[1] ?? 0);
      };
      const runsBefore = await imageRuns();
      await writeColourLibrary(path.join(svc.inbox, 'set'), 1);
      const job = await svc.services.ingest.createFolderJob('alice', 'set');
      const written: number[] = [];
      await svc.services.ingest.runJob(job, (d) => {
        if (d.done) written.push(d.done);
      });
      const total = (await svc.services.ingest.status(job))!.done;
      expect(total).toBeGreaterThan(4);
      expect(written).toEqual([...Array<number>(Math.floor(total / 4)).fill(4), ...(total % 4 ? [total % 4] : [])]);
      expect((await imageRuns()) - runsBefore).toBe(total);
    } finally {
      await svc.close();
      await svc.database.drop();
    }
  });
});
