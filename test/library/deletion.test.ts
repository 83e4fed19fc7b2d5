import path from 'node:path';
import request from 'supertest';
import { isClean } from '../../src/library/consistency';
import { createTestDatabase } from '../helpers/database';
import { tempDir } from '../helpers/env';
import { writeColourLibrary } from '../helpers/files';
import { ADMIN_SHUTDOWN, failOnce } from '../helpers/failOnce';
import { colourImage } from '../helpers/images';
import { startTestService, waitForJob, type TestService } from '../helpers/service';
import { until } from '../helpers/until';

interface Hit {
  id: string;
  source: string;
  sha256: string;
  thumbnailUrl: string;
  previewUrl: string;
}

async function ingestColours(svc: TestService, owner: string, folder: string): Promise<void> {
  await writeColourLibrary(path.join(svc.inbox, folder));
  const res = await svc.api().post('/v1/admin/ingest').send({ owner, folder });
  await waitForJob(svc, res.body.jobId);
}

/** The hit for the test library's image of one colour (its file is `<colour>.<format>`). */
async function hitFor(svc: TestService, query: string, owner: string, colour: string): Promise<Hit> {
  const hits = (await svc.api().post('/v1/search/text').send({ query, limit: 20, filters: { owner } })).body.hits as Hit[];
  const hit = hits.find((h) => path.basename(h.source).startsWith(`${colour}.`));
  if (!hit) throw new Error(`no hit for the ${colour} image`);
  return hit;
}

/** Waits until the job's batch has failed as an outage fails it: the job waits out its retry delay. */
const untilStopped = (svc: TestService, jobId: string) =>
  until(async () => Boolean((await svc.services.ingest.status(jobId))?.error), 'the batch to fail', 30_000);

/** Ends the job's retry delay now. */
async function resume(svc: TestService, jobId: string): Promise<void> {
  await svc.database.db.ingestJob.update({ where: { id: jobId }, data: { retryAt: null } });
  svc.services.ingest.enqueue(jobId);
}

describe('deleting an image', () => {
  test('no endpoint returns it again, and deleting is idempotent and owner-bound', async () => {
    const svc = await startTestService();
    try {
      await ingestColours(svc, 'alice', 'a');
      const red = await hitFor(svc, '红色', 'alice', 'red');
      const blue = await hitFor(svc, '蓝色', 'alice', 'blue');
      expect((await request(svc.app).get(red.thumbnailUrl)).status).toBe(200);

      const key = (
        await svc
          .api()
          .post('/v1/admin/texts')
          .send({ texts: [{ text: '一件红色的东西' }] })
      ).status;
      expect(key).toBe(200);
      expect((await svc.api().delete(`/v1/images/${red.id}?owner=bob`)).body).toEqual({ id: red.id, deleted: false });
      expect((await svc.api().delete(`/v1/images/${red.id}`)).body).toEqual({ id: red.id, deleted: true });

      const api = svc.api();
      const searched = (await api.post('/v1/search/text').send({ query: '红色', limit: 20 })).body.hits as Hit[];
      expect(searched.map((h) => h.id)).not.toContain(red.id);
      const similar = (await api.post('/v1/search/image').send({ imageId: blue.id, limit: 20 })).body.hits as Hit[];
      expect(similar.map((h) => h.id)).not.toContain(red.id);
      const byUpload = (
        await api
          .post('/v1/search/image')
          .attach('image', await colourImage('red'), 'red')
          .field('limit', '20')
      ).body.hits as Hit[];
      expect(byUpload.map((h) => h.id)).not.toContain(red.id);
      for (const [method, url, body] of [
        ['get', `/v1/images/${red.id}`, undefined],
        ['get', `/v1/images/${red.id}/caption`, undefined],
        ['get', `/v1/images/${red.id}/thumbnail`, undefined],
        ['get', `/v1/images/${red.id}/preview`, undefined],
        ['post', '/v1/search/image', { imageId: red.id }],
        ['post', '/v1/retrieve/text', { imageId: red.id }],
        ['post', '/v1/classify', { imageId: red.id, labels: ['红色', '蓝色'] }],
      ] as const) {
        const res = method === 'get' ? await api.get(url) : await api.post(url).send(body);
        expect([url, res.status]).toEqual([url, 404]);
      }
      // URLs handed out before the delete stop working too.
      expect((await request(svc.app).get(red.thumbnailUrl)).status).toBe(404);
      expect((await request(svc.app).get(red.previewUrl)).status).toBe(404);

      expect(await svc.services.images.count()).toBe(7);
      expect(svc.services.derivatives.has('thumbnail', red.id)).toBe(false);
      expect(await svc.services.db.image.count({ where: { id: red.id } })).toBe(0);
      expect((await svc.api().delete(`/v1/images/${red.id}`)).body).toEqual({ id: red.id, deleted: false });
      expect((await svc.api().post('/v1/admin/reconcile').send({})).body).toMatchObject({ orphanPoints: [], pendingDeletes: [], missingVectors: [] });
    } finally {
      await svc.close();
      await svc.database.drop();
    }
  });

  test("another owner's copy of the same bytes keeps its files; ingesting the bytes again brings the image back", async () => {
    const svc = await startTestService();
    try {
      await ingestColours(svc, 'alice', 'a');
      await ingestColours(svc, 'bob', 'b');
      const alices = await hitFor(svc, '绿色', 'alice', 'green');
      const bobs = await hitFor(svc, '绿色', 'bob', 'green');
      expect(alices.sha256).toBe(bobs.sha256);
      expect((await svc.api().delete(`/v1/images/${alices.id}`)).body.deleted).toBe(true);
      expect((await request(svc.app).get(bobs.thumbnailUrl)).status).toBe(200);
      expect(svc.services.derivatives.has('preview', bobs.id)).toBe(true);

      const again = await svc
        .api()
        .post('/v1/admin/ingest')
        .send({ owner: 'alice', folder: 'a', albums: ['新相册'] });
      expect(await waitForJob(svc, again.body.jobId)).toMatchObject({ state: 'completed', failed: 0 });
      const back = await hitFor(svc, '绿色', 'alice', 'green');
      expect(back.id).toBe(alices.id);
      expect((await svc.api().get(`/v1/images/${back.id}`)).body.albums).toEqual(['新相册']);
    } finally {
      await svc.close();
      await svc.database.drop();
    }
  });

  test('a photo deleted while its upload waits to resume stays deleted, and no re-index takes it meanwhile (found by the crash soak)', async () => {
    // A long retry delay: the job waits until the test wakes it.
    const svc = await startTestService({ ENCODE_BATCH_SIZE: '4', INGEST_WRITE_BATCH: '4', JOB_RETRY_BASE_MS: '300000' });
    const { db } = svc.database;
    try {
      // The batch's rows are written, then its commit ends as a PostgreSQL restart would end it (as a kill of the
      // service would leave it too): rows pending, items pending.
      await failOnce(db, { name: 'fail_index_once', on: 'BEFORE UPDATE ON images FOR EACH ROW', when: "NEW.state = 'indexed'", ...ADMIN_SHUTDOWN });
      const res = await svc
        .api()
        .post('/v1/admin/ingest')
        .field('owner', 'alice')
        .field('externalIds', JSON.stringify(['keep', 'gone', 'cut']))
        .attach('files', await colourImage('red'), 'red.png')
        .attach('files', await colourImage('blue'), 'blue.png')
        .attach('files', await colourImage('green'), 'green.png');
      expect(res.status).toBe(202);
      const jobId = res.body.jobId as string;
      await untilStopped(svc, jobId);
      expect(await db.image.count({ where: { state: 'pending' } })).toBe(3);

      // A re-index (at a restart, or by reconcile) leaves the photos to the job that wrote their rows.
      expect(await svc.services.ingest.createReindexJob()).toBeNull();
      expect((await svc.api().delete('/v1/images/by-external-id/gone?owner=alice')).body).toMatchObject({ deleted: true });
      // A delete cut off after it hid its photo (PostgreSQL went away): reconcile finishes it, withdrawal included.
      await db.image.updateMany({ where: { externalId: 'cut' }, data: { deletedAt: new Date() } });
      expect((await svc.services.reconcile(true)).pendingDeletes).toHaveLength(1);

      await resume(svc, jobId);
      expect(await waitForJob(svc, jobId)).toMatchObject({ state: 'completed', done: 1, skipped: 2, failed: 0, pending: 0 });
      for (const gone of ['gone', 'cut']) expect((await svc.api().get(`/v1/images/by-external-id/${gone}?owner=alice`)).status).toBe(404);
      expect((await svc.api().get('/v1/images/by-external-id/keep?owner=alice')).body).toMatchObject({ state: 'indexed' });
      const hits = (
        await svc
          .api()
          .post('/v1/search/text')
          .send({ query: '蓝色', limit: 20, filters: { owner: 'alice' } })
      ).body.hits as Hit[];
      expect(hits.map((h) => path.basename(h.source))).toEqual(['red.png']);
      expect(await db.image.count()).toBe(1);
      // The files the batch wrote for the deleted photo went with it.
      const report = await svc.services.reconcile(false);
      expect(isClean(report) ? 'clean' : report).toBe('clean');
    } finally {
      await svc.close();
      await svc.database.drop();
    }
  });

  test('a photo deleted while an upload of its very bytes waits to resume stays deleted, its row purged meanwhile', async () => {
    // An upload without external ids knows a photo only by its bytes: no item names it before it is read, so the
    // delete cannot withdraw the item, and the purge leaves no row to say the photo was deleted.
    const svc = await startTestService({ JOB_RETRY_BASE_MS: '300000' });
    const { db } = svc.database;
    try {
      const upload = async (albums: string[]): Promise<string> => {
        const res = await svc
          .api()
          .post('/v1/admin/ingest')
          .field('owner', 'alice')
          .field('albums', JSON.stringify(albums))
          .attach('files', await colourImage('red'), 'red.png');
        expect(res.status).toBe(202);
        return res.body.jobId as string;
      };
      expect(await waitForJob(svc, await upload([]))).toMatchObject({ state: 'completed', done: 1 });
      const red = await db.image.findFirstOrThrow();
      // The same bytes again, to add them to an album; the batch's write ends as a PostgreSQL restart would end it.
      await failOnce(db, { name: 'fail_write_once', on: 'BEFORE INSERT ON images FOR EACH ROW', ...ADMIN_SHUTDOWN });
      const again = await upload(['旅行']);
      await untilStopped(svc, again);
      expect(await db.ingestItem.findFirst({ where: { jobId: again } })).toMatchObject({ state: 'pending', imageId: null });

      expect((await svc.api().delete(`/v1/images/${red.id}`)).body).toEqual({ id: red.id, deleted: true });
      expect(await db.image.count()).toBe(0);

      await resume(svc, again);
      expect(await waitForJob(svc, again)).toMatchObject({ state: 'completed', done: 0, skipped: 1, failed: 0 });
      expect((await svc.api().get(`/v1/images/${red.id}`)).status).toBe(404);
      expect(await db.image.count()).toBe(0);
      const report = await svc.services.reconcile(false);
      expect(isClean(report) ? 'clean' : report).toBe('clean');

      // Asked for after the delete, the same bytes come back; the tombstone goes once no older job is left.
      expect(await waitForJob(svc, await upload([]))).toMatchObject({ state: 'completed', done: 1 });
      expect((await svc.api().get(`/v1/images/${red.id}`)).body).toMatchObject({ state: 'indexed' });
      expect((await svc.api().delete(`/v1/images/${red.id}`)).body.deleted).toBe(true);
      expect(await db.$queryRawUnsafe('SELECT id FROM image_tombstones')).toEqual([]);
    } finally {
      await svc.close();
      await svc.database.drop();
    }
  });

  test('with the vector store down, the image is hidden at once and reconcile finishes the delete', async () => {
    const database = await createTestDatabase();
    const dataDir = await tempDir('delete-outage');
    const first = await startTestService({}, { database, dataDir });
    await ingestColours(first, 'alice', 'a');
    const red = await hitFor(first, '红色', 'alice', 'red');
    await first.services.store.close();
    expect((await first.api().delete(`/v1/images/${red.id}`)).body).toEqual({ id: red.id, deleted: true });
    expect((await first.api().get(`/v1/images/${red.id}`)).status).toBe(404);
    await first.close();

    const second = await startTestService({}, { database, dataDir });
    try {
      expect(await second.services.images.count()).toBe(8);
      const hits = (await second.api().post('/v1/search/text').send({ query: '红色', limit: 20 })).body.hits as Hit[];
      expect(hits.map((h) => h.id)).not.toContain(red.id);
      const report = (await second.api().post('/v1/admin/reconcile').send({ fix: true })).body;
      expect(report).toMatchObject({ pendingDeletes: [red.id], orphanPoints: [red.id] });
      expect(await second.services.images.count()).toBe(7);
      expect(await second.services.db.image.count({ where: { id: red.id } })).toBe(0);
      expect((await second.api().post('/v1/admin/reconcile').send({})).body).toMatchObject({ pendingDeletes: [], orphanPoints: [] });
    } finally {
      await second.close();
      await database.drop();
    }
  });
});
