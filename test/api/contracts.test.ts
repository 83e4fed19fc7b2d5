import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type request from 'supertest';
import { API_ROUTES, type RouteSpec } from '../../src/api/contract';
import { errorResponseSchema } from '../../src/api/schemas/responses';
import { makeTestCaptioner } from '../../scripts/test-pack/makeCaptioner';
import { tempDir } from '../helpers/env';
import { writeColourLibrary } from '../helpers/files';
import { colourImage } from '../helpers/images';
import { colourVideo } from '../helpers/video';
import { startTestService, waitForJob, type TestService } from '../helpers/service';

/** Every route's real responses, checked against the schema the OpenAPI document is made from. */
describe('API contract: responses match the documented schemas', () => {
  let svc: TestService;
  let imageId: string;
  let jobId: string;
  const contracts: RouteSpec[] = Object.values(API_ROUTES);
  const checked = new Set<string>();

  const contractFor = (method: string, url: string): RouteSpec => {
    const p = url.split('?')[0]!;
    const c = contracts.find((x) => x.method === method && new RegExp(`^${x.path.replace(/\{\w+\}/g, '[^/]+')}$`).test(p));
    if (!c) throw new Error(`no contract documents ${method.toUpperCase()} ${p}`);
    return c;
  };

  /** Sends a request and validates whatever comes back: a documented success body, or the error shape. */
  async function check(
    method: 'get' | 'post' | 'patch' | 'delete',
    url: string,
    send?: (t: request.Test) => request.Test,
    on: TestService = svc,
  ): Promise<request.Response> {
    const api = on.api();
    const base = method === 'get' ? api.get(url) : method === 'delete' ? api.delete(url) : method === 'patch' ? api.patch(url) : api.post(url);
    const res = await (send ? send(base) : base);
    const contract = contractFor(method, url);
    const documented = contract.responses[res.status];
    if (documented && ('binary' in documented || 'text' in documented)) {
      expect(res.headers['content-type']).toBe('binary' in documented ? documented.binary : documented.text);
    } else if (documented) {
      const parsed = documented.safeParse(res.body);
      if (!parsed.success)
        throw new Error(
          `${method.toUpperCase()} ${url} → ${res.status} does not match its schema: ${parsed.error.message}\n${JSON.stringify(res.body).slice(0, 500)}`,
        );
    } else {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(errorResponseSchema.safeParse(res.body).success).toBe(true);
    }
    if (documented) checked.add(`${contract.method} ${contract.path} ${res.status}`);
    return res;
  }

  beforeAll(async () => {
    svc = await startTestService({ WEBHOOK_ALLOW_PRIVATE: 'true' });
    await writeColourLibrary(path.join(svc.inbox, 'colours'));
    await writeFile(
      path.join(svc.inbox, 'colours', 'clip.mp4'),
      await colourVideo({
        spans: [
          { colour: 'red', seconds: 2 },
          { colour: 'blue', seconds: 2 },
        ],
      }),
    );
    const res = await check('post', '/v1/admin/ingest', (t) => t.send({ owner: 'alice', folder: 'colours', albums: ['调色板'] }));
    jobId = res.body.jobId;
    await waitForJob(svc, jobId);
    await check('post', '/v1/admin/texts', (t) => t.send({ texts: [{ text: '一件红色的东西' }, { text: '一件蓝色的东西', id: 'blue-1' }] }));
  });
  afterAll(async () => {
    await svc.close();
    await svc.database.drop();
  });

  test('search, retrieval, classification and captions', async () => {
    const text = await check('post', '/v1/search/text', (t) => t.send({ query: '红色的花', limit: 3, caption: true }));
    await check('post', '/v1/search/text', (t) => t.send({ query: '红色', mode: 'ocr' }));
    await check('post', '/v1/search/text', (t) => t.send({ query: '红色', mode: 'semantic' }));
    imageId = text.body.hits[0].id;
    await check('post', '/v1/search/image', (t) => t.send({ imageId, limit: 3 }));
    const red = await colourImage('red');
    await check('post', '/v1/search/image', (t) => t.attach('image', red, 'red.png'));
    await check('post', '/v1/retrieve/text', (t) => t.send({ imageId }));
    await check('post', '/v1/retrieve/text', (t) => t.attach('image', red, 'red.png').field('limit', '2'));
    await check('post', '/v1/classify', (t) => t.send({ imageId, labels: ['红色', '蓝色'] }));
    await check('get', `/v1/images/${imageId}`);
    await check('get', `/v1/images/${imageId}/caption`);
    await check('get', `/v1/images/${imageId}/thumbnail`);
    await check('get', `/v1/images/${imageId}/preview`);
    const video = (await check('post', '/v1/search/text', (t) => t.send({ query: '蓝色', filters: { mediaType: 'video' } }))).body.hits[0];
    expect(video.segment).toBeDefined();
    await check('get', `/v1/images/${video.id}/segments/${video.segmentCount}/thumbnail`);
    await check('get', `/v1/images/${video.id}/segments/0/preview`);
    await check('get', `/v1/images/${video.id}/video`);
    await check('get', `/v1/images/${video.id}/video`, (t) => t.set('range', 'bytes=0-9'));
    // The video's red and blue frames repeat the library's red and blue photos.
    const dups = await check('get', '/v1/duplicates?owner=alice&limit=5');
    expect(dups.body.groups.length).toBeGreaterThan(0);
    await check('post', `/v1/duplicates/${dups.body.groups[0].id}/dismiss?owner=alice`);
    await check('get', '/v1/images?owner=alice&limit=3&sort=ingestedAt');
    await check('get', '/v1/places?owner=alice');
    await check('patch', '/v1/settings?owner=alice', (t) => t.send({ timeZone: 'Asia/Tokyo' }));
    await check('get', '/v1/settings?owner=alice');
    await check('patch', `/v1/images/${imageId}`, (t) => t.send({ favorite: true, tags: ['花'], albums: ['精选'], takenAt: '2024-05-01T08:00:00Z' }));
    await check('delete', `/v1/images/${imageId}`);
  });

  test('external ids, bulk delete and webhooks', async () => {
    const jobId2 = (
      await check('post', '/v1/admin/ingest', (t) => t.send({ owner: 'carol', urls: [{ url: 'http://127.0.0.1:9/none.png', externalId: 'x-0' }] }))
    ).body.jobId as string;
    await waitForJob(svc, jobId2);
    const yellow = await colourImage('yellow');
    const upload = await check('post', '/v1/admin/ingest', (t) =>
      t
        .attach('files', yellow, 'y.png')
        .field('owner', 'carol')
        .field('externalIds', JSON.stringify(['asset/1'])),
    );
    await waitForJob(svc, upload.body.jobId);
    const ext = encodeURIComponent('asset/1');
    await check('get', `/v1/images/by-external-id/${ext}?owner=carol`);
    await check('patch', `/v1/images/by-external-id/${ext}?owner=carol`, (t) => t.send({ hidden: true }));
    await check('delete', `/v1/images/by-external-id/${ext}?owner=carol`);
    await check('post', '/v1/images/delete', (t) => t.send({ owner: 'carol', externalIds: ['asset/1', 'x-0'] }));
    const hook = await check('post', '/v1/webhooks', (t) => t.send({ url: 'http://127.0.0.1:9/hook', owner: 'carol', events: ['image.deleted'] }));
    await check('get', '/v1/webhooks');
    await check('post', `/v1/webhooks/${hook.body.id}/test`);
    await check('get', `/v1/webhooks/${hook.body.id}/deliveries?limit=5`);
    await check('delete', `/v1/webhooks/${hook.body.id}`);
  });

  test('admin routes and health', async () => {
    await check('get', `/v1/admin/jobs/${jobId}`);
    await check('get', '/v1/admin/jobs?limit=5');
    const queued = await svc.services.ingest.createUploadJob('alice', [{ name: 'x.png', data: await colourImage('blue') }]);
    await check('post', `/v1/admin/jobs/${queued}/cancel`);
    await check('post', `/v1/admin/jobs/${jobId}/cancel`);
    // A job as a failure leaves it (test/ingest/faults.test.ts fails one for real) runs again.
    const failed = await svc.services.ingest.createUploadJob('alice', [{ name: 'y.png', data: await colourImage('yellow') }]);
    await svc.services.db.ingestJob.update({ where: { id: failed }, data: { state: 'failed', error: 'disk full', finishedAt: new Date() } });
    await check('post', `/v1/admin/jobs/${failed}/retry`);
    await check('post', '/v1/admin/reconcile', (t) => t.send({ fix: false }));
    await check('post', '/v1/admin/ocr/backfill', (t) => t.send({ owner: 'alice' }));
    const green = await colourImage('green');
    await check('post', '/v1/admin/ingest', (t) => t.attach('files', green, 'g.png').field('owner', 'bob'));
    await mkdir(path.join(svc.inbox, 'watched'));
    const watch = await check('post', '/v1/admin/watches', (t) => t.send({ owner: 'dan', folder: 'watched' }));
    await check('get', '/v1/admin/watches?owner=dan');
    await check('post', `/v1/admin/watches/${watch.body.folder.id}/rescan`);
    await check('delete', `/v1/admin/watches/${watch.body.folder.id}`);
    await check('delete', '/v1/owners/nobody');
    const key = await check('post', '/v1/admin/keys', (t) => t.send({ name: 'carol-app', owner: 'carol', scopes: ['search'] }));
    await check('get', '/v1/admin/keys');
    await check('delete', `/v1/admin/keys/${key.body.id}`);
    await check('post', '/v1/admin/keys', (t) => t.send({ name: 'carol-admin', owner: 'carol', scopes: ['search', 'admin'] }));
    await check('get', '/healthz');
    await check('get', '/readyz');
  });

  test('pull workers: lease and answer (a service with PULL_ENCODERS=on, no local encoder)', async () => {
    const pulling = await startTestService({ PULL_ENCODERS: 'on', PULL_LOCAL_ENCODER: 'false', OCR: 'off' });
    try {
      const pack = pulling.services.pack;
      await check('post', '/v1/workers/lease', (t) => t.send({ pack: pack.key }), pulling);
      const size = pack.image.preprocessing.size;
      const encoded = pack.image.encode([{ data: new Float32Array(3 * size * size), size }], 'background');
      let lease: { id: string } | null = null;
      while (!lease) lease = (await check('post', '/v1/workers/lease', (t) => t.send({ pack: pack.key }), pulling)).body.lease;
      const [vector] = await pack.image.encode([{ data: new Float32Array(3 * size * size), size }], 'interactive');
      const embeddings = Buffer.from(vector!.buffer, vector!.byteOffset, vector!.byteLength).toString('base64');
      await check('post', `/v1/workers/leases/${lease.id}`, (t) => t.send({ pack: pack.key, embeddings }), pulling);
      await check('post', `/v1/workers/leases/${lease.id}`, (t) => t.send({ pack: pack.key, embeddings }), pulling);
      expect(Array.from((await encoded)[0]!)).toEqual(Array.from(vector!));
      await check('post', '/v1/workers/lease', (t) => t.send({ pack: 'other@1' }), pulling);
    } finally {
      await pulling.close();
      await pulling.database.drop();
    }
    await check('post', '/v1/workers/lease', (t) => t.send({ pack: 'test-pack@1' }));
  });

  test('pull workers: lease an image to caption and answer it (PULL_ENCODERS=on and a captioning model)', async () => {
    const captioner = await tempDir('captioner');
    await makeTestCaptioner(captioner);
    const pulling = await startTestService({ PULL_ENCODERS: 'on', CAPTION_MODEL_DIR: captioner, OCR: 'off', AUTO_TAGS: 'off' });
    try {
      const model = `generative:${path.basename(captioner)}`;
      // Asking first makes the service leave its captions to workers.
      await check('post', '/v1/workers/captions/lease', (t) => t.send({ captioner: model }), pulling);
      await writeColourLibrary(path.join(pulling.inbox, 'one'));
      await pulling.services.ingest.runJob(await pulling.services.ingest.createFolderJob('cora', 'one'));
      let task: { imageId: string } | null = null;
      while (!task) task = (await check('post', '/v1/workers/captions/lease', (t) => t.send({ captioner: model }), pulling)).body.task;
      const answer = { captioner: model, text: '红色的图片', original: null };
      await check('post', `/v1/workers/captions/${task.imageId}`, (t) => t.send(answer), pulling);
      await check('post', `/v1/workers/captions/${task.imageId}`, (t) => t.send(answer), pulling);
      await check('post', '/v1/workers/captions/lease', (t) => t.send({ captioner: 'generative:other' }), pulling);
    } finally {
      await pulling.close();
      await pulling.database.drop();
    }
  });

  test('the metrics and this document are served as documented', async () => {
    expect((await check('get', '/metrics')).text).toMatch(/^# HELP /m);
    expect((await check('get', '/v1/openapi.json')).body.paths['/metrics']).toBeDefined();
  });

  test('errors have the documented shape', async () => {
    await check('post', '/v1/search/text', (t) => t.send({ query: '' }));
    await check('get', '/v1/images/00000000-0000-4000-8000-000000000000');
    await check('get', '/v1/admin/jobs/not-a-uuid');
  });

  afterAll(() => {
    // Every documented route answered with a documented success status at least once.
    const missing = contracts.filter((c) => !Object.keys(c.responses).some((s) => Number(s) < 300 && checked.has(`${c.method} ${c.path} ${s}`)));
    expect(missing.map((c) => `${c.method} ${c.path}`)).toEqual([]);
  });
});
