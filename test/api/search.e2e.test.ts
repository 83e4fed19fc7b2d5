import path from 'node:path';
import sharp from 'sharp';
import { COLOURS } from '../../scripts/test-pack/concepts';
import { writeColourLibrary } from '../helpers/files';
import { colourImage } from '../helpers/images';
import { ADMIN_KEY, startTestService, waitForJob, type TestService } from '../helpers/service';

interface Hit {
  id: string;
  source: string;
  score: number;
  albums: string[];
  thumbnailUrl: string;
  owner: string;
}

describe('end to end: folder ingest, then Chinese text search over HTTP', () => {
  let svc: TestService;
  let library: Map<string, string>;

  beforeAll(async () => {
    svc = await startTestService();
    library = await writeColourLibrary(path.join(svc.inbox, 'colours'));
    const res = await svc
      .api()
      .post('/v1/admin/ingest')
      .send({ owner: 'alice', folder: 'colours', albums: ['调色板'] });
    expect(res.status).toBe(202);
    const status = await waitForJob(svc, res.body.jobId);
    expect(status).toMatchObject({ state: 'completed', total: COLOURS.length, done: COLOURS.length, failed: 0 });
  });
  afterAll(async () => {
    await svc.close();
    await svc.database.drop();
  });

  const search = (body: object) => svc.api().post('/v1/search/text').send(body);

  test.each(COLOURS.map((c) => [c.key, c.words[0]!]))('“%s”: the %s image ranks first for a Chinese sentence', async (key, word) => {
    const res = await search({ query: `一张${word}色的照片`, limit: 3 });
    expect(res.status).toBe(200);
    expect(res.body.model).toBe('test-pack@1');
    const hits = res.body.hits as Hit[];
    expect(hits[0]!.source).toBe(library.get(key));
    expect(hits[0]!.score).toBeGreaterThan(hits[1]!.score);
  });

  test('English queries work with the same encoder', async () => {
    const res = await search({ query: 'a PURPLE flower', limit: 1 });
    expect((res.body.hits as Hit[])[0]!.source).toBe(library.get('purple'));
  });

  test('traditional characters find what simplified ones do (一張紅色的照片, 綠色, 藍色)', async () => {
    for (const [query, key] of [
      ['一張紅色的照片', 'red'],
      ['綠色的草地', 'green'],
      ['藍色', 'blue'],
    ] as const) {
      expect(((await search({ query, limit: 1 })).body.hits as Hit[])[0]!.source).toBe(library.get(key));
    }
  });

  test('hits carry metadata and a thumbnail that is a real image', async () => {
    const res = await search({ query: '蓝天', limit: 1 });
    const hit = (res.body.hits as Hit[])[0]!;
    expect(hit).toMatchObject({ owner: 'alice', albums: ['调色板'], mime: 'image/webp', width: 96, height: 64, state: 'indexed' });
    const thumb = await svc.api().get(hit.thumbnailUrl);
    expect(thumb.status).toBe(200);
    expect(thumb.headers['content-type']).toBe('image/jpeg');
    const meta = await sharp(thumb.body as Buffer).metadata();
    expect(meta.format).toBe('jpeg');
    const detail = await svc.api().get(`/v1/images/${hit.id}`);
    expect(detail.body).toMatchObject({ id: hit.id, source: library.get('blue') });
  });

  test('cursor pagination walks all results once, in score order', async () => {
    const seen: Hit[] = [];
    let cursor: string | null = null;
    do {
      const res = await search({ query: '红色', limit: 3, ...(cursor ? { cursor } : {}) });
      expect(res.status).toBe(200);
      seen.push(...(res.body.hits as Hit[]));
      cursor = res.body.nextCursor as string | null;
    } while (cursor);
    expect(seen).toHaveLength(COLOURS.length);
    expect(new Set(seen.map((h) => h.id)).size).toBe(COLOURS.length);
    expect(seen[0]!.source).toBe(library.get('red'));
    const scores = seen.map((h) => h.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
  });

  test('filters by owner and album', async () => {
    expect((await search({ query: '红色', filters: { owner: 'bob' } })).body.hits).toEqual([]);
    expect((await search({ query: '红色', filters: { owner: 'alice', album: '调色板' } })).body.hits).toHaveLength(COLOURS.length);
    expect((await search({ query: '红色', filters: { album: '别的' } })).body.hits).toEqual([]);
  });

  test('image-to-image: an uploaded image finds its colour; an indexed image finds others, not itself', async () => {
    const upload = await svc
      .api()
      .post('/v1/search/image')
      .attach('image', await colourImage('green', { seed: 99, format: 'jpeg' }), 'q.jpg')
      .field('limit', '2');
    expect(upload.status).toBe(200);
    expect((upload.body.hits as Hit[])[0]!.source).toBe(library.get('green'));

    const red = ((await search({ query: '红', limit: 1 })).body.hits as Hit[])[0]!;
    const byId = await svc.api().post('/v1/search/image').send({ imageId: red.id, limit: 20 });
    expect(byId.status).toBe(200);
    expect((byId.body.hits as Hit[]).map((h) => h.id)).not.toContain(red.id);
    expect(byId.body.hits).toHaveLength(COLOURS.length - 1);
  });

  test('re-ingesting the same folder is idempotent: everything is skipped, nothing duplicated', async () => {
    const res = await svc
      .api(null)
      .post('/v1/admin/ingest')
      .set('x-api-key', ADMIN_KEY)
      .send({ owner: 'alice', folder: 'colours', albums: ['调色板'] });
    const status = await waitForJob(svc, res.body.jobId);
    expect(status).toMatchObject({ state: 'completed', skipped: COLOURS.length, done: 0 });
    expect(await svc.services.db.image.count()).toBe(COLOURS.length);
    expect(await svc.services.images.count()).toBe(COLOURS.length);
  });

  test('the OpenAPI document describes the API', async () => {
    const res = await svc.api().get('/v1/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining(['/v1/search/text', '/v1/search/image', '/v1/retrieve/text', '/v1/admin/ingest', '/v1/admin/jobs/{id}']),
    );
    expect(res.body.paths['/v1/search/text'].post.requestBody.content['application/json'].schema.properties.query).toBeDefined();
  });

  test('health and readiness', async () => {
    expect((await svc.api().get('/healthz')).body).toEqual({ status: 'ok' });
    const ready = await svc.api().get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toMatchObject({ database: { ok: true }, vectorStore: { ok: true, kind: 'embedded' }, model: { ok: true, pack: 'test-pack@1' } });
  });

  test('readiness says loudly that the test pack gives no meaningful results, and how to get the real model', async () => {
    const ready = await svc.api().get('/readyz');
    expect(ready.body.checks.model).toMatchObject({
      meaningful: false,
      warning: expect.stringMatching(/not meaningful for real photos.*npm run models:fetch/),
    });
  });
});
