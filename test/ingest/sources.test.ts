import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { colourImage } from '../helpers/images';
import { serveOneHeld, serveRoutes } from '../helpers/httpServer';
import { sweepUploadSpool } from '../../ingest/sources/uploadStaging';
import { tempDir } from '../helpers/env';
import { ADMIN_KEY, startTestService, waitForJob, type TestService } from '../helpers/service';
import { until } from '../helpers/until';

describe('ingest from uploads and URLs', () => {
  let svc: TestService;
  let server: Awaited<ReturnType<typeof serveRoutes>>;

  beforeAll(async () => {
    svc = await startTestService({ URL_FETCH_ALLOW_PRIVATE: 'true', URL_FETCH_TIMEOUT_MS: '1000' });
    const red = await colourImage('red', { seed: 5 });
    server = await serveRoutes({
      '/red.png': (_q, r) => r.writeHead(200, { 'content-type': 'image/png' }).end(red),
      '/page.html': (_q, r) => r.writeHead(200, { 'content-type': 'text/html' }).end('<p>hi</p>'),
    });
  });
  afterAll(async () => {
    await server.close();
    await svc.close();
    await svc.database.drop();
  });

  const admin = () => svc.api().post('/v1/admin/ingest');
  const jobStatus = (id: string) => svc.api().get(`/v1/admin/jobs/${id}`);

  test('uploaded files are ingested; bad files fail alone with a reason', async () => {
    const res = await admin()
      .field('owner', 'carol')
      .field('albums', JSON.stringify(['上传']))
      .attach('files', await colourImage('yellow', { seed: 1 }), '黄色.png')
      .attach('files', await colourImage('purple', { seed: 2, format: 'jpeg' }), 'purple.jpg')
      .attach('files', Buffer.from('not an image'), 'broken.jpg');
    expect(res.status).toBe(202);
    await svc.services.ingest.idle();
    const status = (await jobStatus(res.body.jobId)).body;
    expect(status).toMatchObject({ state: 'completed', total: 3, done: 2, failed: 1, pending: 0 });
    expect(status.errors).toEqual([{ source: '2-broken.jpg', error: expect.stringMatching(/not a supported image/) }]);
    const hits = (
      await svc
        .api()
        .post('/v1/search/text')
        .send({ query: '黄色', filters: { owner: 'carol' }, limit: 1 })
    ).body.hits;
    expect(hits[0]).toMatchObject({ source: '黄色.png', sourceKind: 'upload', albums: ['上传'] });
  });

  test("a form's list fields take JSON, the field repeated, or one plain value", async () => {
    const png = await colourImage('orange', { seed: 5 });
    const repeated = await admin().field('owner', 'ivy').field('albums', '旅行').field('albums', '2024').attach('files', png, 'o.png');
    const single = await admin().field('owner', 'ivy').field('albums', '2024').field('externalIds', 'asset-7').attach('files', png, 'o.png');
    for (const res of [repeated, single]) expect(res.status).toBe(202);
    expect((await waitForJob(svc, repeated.body.jobId)).albums).toEqual(['旅行', '2024']);
    expect((await waitForJob(svc, single.body.jobId)).albums).toEqual(['2024']);
    expect((await svc.api().get('/v1/images/by-external-id/asset-7?owner=ivy').expect(200)).body.albums).toEqual(['2024']);
    const broken = await admin().field('owner', 'ivy').field('albums', '["旅行"').attach('files', png, 'o.png');
    expect([broken.status, broken.body.error.details[0].path]).toEqual([400, 'albums']);
  });

  test('uploads are written to disk as they arrive; a refused or abandoned upload leaves no file behind', async () => {
    const spool = svc.services.ingest.uploadSpool;
    const spooled = () => readdir(spool).catch(() => [] as string[]);
    const until = async (done: (files: string[]) => boolean) => {
      for (let i = 0; i < 200 && !done(await spooled()); i++) await new Promise((r) => setTimeout(r, 25));
      return spooled();
    };
    const png = await colourImage('green', { seed: 8 });
    const ok = await admin().field('owner', 'jon').attach('files', png, 't.png');
    expect((await waitForJob(svc, ok.body.jobId)).done).toBe(1);
    const refused = await admin()
      .field('owner', 'jon')
      .field('externalIds', JSON.stringify(['a', 'b']))
      .attach('files', png, 't.png');
    expect(refused.status).toBe(400);
    expect(await until((f) => f.length === 0)).toEqual([]);

    // A client that sends half a large file and goes away: the half is on disk, not in memory, then gone.
    const server = svc.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const boundary = 'spooltest';
      const req = httpRequest({
        port: (server.address() as AddressInfo).port,
        host: '127.0.0.1',
        method: 'POST',
        path: '/v1/admin/ingest',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': 10_000_000 },
      });
      req.on('error', () => undefined);
      req.write(`--${boundary}\r\ncontent-disposition: form-data; name="owner"\r\n\r\njon\r\n`);
      req.write(`--${boundary}\r\ncontent-disposition: form-data; name="files"; filename="big.mp4"\r\ncontent-type: video/mp4\r\n\r\n`);
      req.write(Buffer.alloc(1_000_000, 7));
      expect(await until((f) => f.length === 1)).toHaveLength(1);
      req.destroy();
      expect(await until((f) => f.length === 0)).toEqual([]);
    } finally {
      server.close();
    }
  });

  test('the spool sweep (run at start) removes files a process that died while receiving left behind, and keeps recent ones', async () => {
    const staging = await tempDir('staging');
    const spool = path.join(staging, 'incoming');
    await mkdir(spool);
    await writeFile(path.join(spool, 'old'), 'x');
    await writeFile(path.join(spool, 'new'), 'x');
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    await utimes(path.join(spool, 'old'), twoHoursAgo, twoHoursAgo);
    expect(await sweepUploadSpool(staging)).toBe(1);
    expect(await readdir(spool)).toEqual(['new']);
  });

  test('URLs are fetched; non-images fail with a reason', async () => {
    const res = await admin().send({ owner: 'dave', urls: [server.url('/red.png'), server.url('/page.html'), server.url('/missing.png')] });
    expect(res.status).toBe(202);
    const status = await waitForJob(svc, res.body.jobId);
    expect(status).toMatchObject({ state: 'completed', total: 3, done: 1, failed: 2 });
    expect(status.errors.map((e) => e.error).sort()).toEqual([expect.stringMatching(/HTTP 404/), expect.stringMatching(/not an image/)]);
    const hits = (
      await svc
        .api()
        .post('/v1/search/text')
        .send({ query: 'red', filters: { owner: 'dave' } })
    ).body.hits;
    expect(hits).toHaveLength(1);
    expect(hits[0]).toMatchObject({ source: server.url('/red.png'), sourceKind: 'url' });
  });

  test('the same content for two owners is two records; for one owner, one', async () => {
    const png = await colourImage('green', { seed: 77 });
    for (const owner of ['erin', 'frank', 'erin']) {
      const res = await admin().field('owner', owner).attach('files', png, 'g.png');
      await waitForJob(svc, res.body.jobId);
    }
    const rows = await svc.services.db.image.findMany({
      where: { sha256: (await svc.services.db.image.findFirstOrThrow({ where: { owner: 'erin' } })).sha256 },
    });
    expect(rows.map((r) => r.owner).sort()).toEqual(['erin', 'frank']);
    expect(new Set(rows.map((r) => r.id)).size).toBe(2);
  });

  test('a folder ingest adds albums to known images without re-adding them', async () => {
    await writeFile(path.join(svc.inbox, 'a.png'), await colourImage('black', { seed: 3 }));
    for (const albums of [['一'], ['二']]) {
      const res = await admin().send({ owner: 'gina', folder: '.', albums });
      await waitForJob(svc, res.body.jobId);
    }
    const [image] = await svc.services.db.image.findMany({ where: { owner: 'gina' } });
    expect(image!.albums.sort()).toEqual(['一', '二']);
    const byAlbum = (
      await svc
        .api()
        .post('/v1/search/text')
        .send({ query: '黑', filters: { owner: 'gina', album: '一' } })
    ).body.hits;
    expect(byAlbum).toHaveLength(1);
    expect(await svc.services.images.count({ owner: 'gina' })).toBe(1);
  });
});

describe('a URL that answers late', () => {
  test('does not hold back the photos after it: they are stored while it is fetched', async () => {
    const svc = await startTestService({ URL_FETCH_ALLOW_PRIVATE: 'true', INGEST_WRITE_BATCH: '1', ENCODE_BATCH_SIZE: '1' });
    const server = await serveOneHeld(await colourImage('red', { seed: 3 }), await colourImage('blue', { seed: 4 }));
    try {
      const res = await svc.api().post('/v1/admin/ingest').send({ owner: 'kim', urls: server.urls }).expect(202);
      // The job's first item (items run in the order of their ids) is the one held.
      const [first] = await svc.services.db.ingestItem.findMany({ where: { jobId: res.body.jobId }, orderBy: { id: 'asc' }, take: 1 });
      server.hold(first!.source);
      const indexed = () => svc.services.db.image.findMany({ where: { owner: 'kim', state: 'indexed' }, select: { source: true } });
      await until(async () => (await indexed()).length > 0, 'a photo stored while the other is held', 10_000);
      expect({ stored: (await indexed()).map((r) => r.source), held: server.holding() }).toEqual({
        stored: server.urls.filter((u) => u !== first!.source),
        held: 1,
      });
      server.release();
      expect(await waitForJob(svc, res.body.jobId)).toMatchObject({ state: 'completed', done: 2, failed: 0 });
    } finally {
      await server.close();
      await svc.close();
      await svc.database.drop();
    }
  });
});
