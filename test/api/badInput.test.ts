import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { pngBombHeader } from '../helpers/files';
import { colourImage } from '../helpers/images';
import { ADMIN_KEY, startTestService, type TestService } from '../helpers/service';
import { tempDir } from '../helpers/env';

describe('bad input gets a clear JSON error and writes nothing', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService({ MAX_IMAGE_PIXELS: '4000000', MAX_IMAGE_BYTES: '200000', QUERY_MAX_CHARS: '64', SEARCH_MAX_LIMIT: '50' });
  });
  afterAll(async () => {
    await svc.close();
    await svc.database.drop();
  });

  const expectError = (res: { status: number; body: { error?: { code?: string; message?: string } } }, status: number, code: string | RegExp) => {
    expect(res.status).toBe(status);
    expect(res.body.error?.code).toMatch(code);
    expect(typeof res.body.error?.message).toBe('string');
  };

  const textSearch = (body: unknown) =>
    svc
      .api()
      .post('/v1/search/text')
      .send(body as object);

  test.each([
    ['an empty query', { query: '' }],
    ['a whitespace query', { query: ' \u3000\t ' }],
    ['an overlong query', { query: '红'.repeat(65) }],
    ['a query of the wrong type', { query: 42 }],
    ['a missing query', {}],
    ['a zero limit', { query: '红', limit: 0 }],
    ['a limit over the maximum', { query: '红', limit: 51 }],
    ['a fractional limit', { query: '红', limit: 2.5 }],
    ['a negative offset', { query: '红', offset: -1 }],
    ['an invalid cursor', { query: '红', cursor: 'not-a-cursor' }],
    ['a forged cursor', { query: '红', cursor: Buffer.from('{"o":-5}').toString('base64url') }],
    ['offset and cursor together', { query: '红', offset: 1, cursor: Buffer.from('{"o":1}').toString('base64url') }],
    ['an unknown field', { query: '红', colour: 'red' }],
    ['an unknown filter', { query: '红', filters: { ownr: 'x' } }],
    ['a bad date', { query: '红', filters: { takenFrom: 'yesterday' } }],
    ['an inverted date range', { query: '红', filters: { takenFrom: '2025-01-01T00:00:00Z', takenTo: '2024-01-01T00:00:00Z' } }],
  ])('text search rejects %s with 400', async (_name, body) => {
    expectError(await textSearch(body), 400, 'validation_error');
  });

  test('malformed JSON is a 400, a non-JSON body a 415', async () => {
    expectError(await svc.api().post('/v1/search/text').set('content-type', 'application/json').send('{"query": "红'), 400, 'invalid_json');
    expectError(await svc.api().post('/v1/search/text').set('content-type', 'text/plain').send('红色'), 415, 'unsupported_media_type');
  });

  test('unknown routes and ids are 404s; malformed ids 400s', async () => {
    expectError(await svc.api().get('/v1/nope'), 404, 'not_found');
    expectError(await svc.api().get(`/v1/images/${randomUUID()}`), 404, 'not_found');
    expectError(await svc.api().get(`/v1/images/${randomUUID()}/thumbnail`), 404, 'not_found');
    expectError(await svc.api().get('/v1/images/../../etc/passwd'), 404, 'not_found');
    expectError(await svc.api().get('/v1/images/not-a-uuid'), 400, 'validation_error');
    expectError(await svc.api().post('/v1/search/image').send({ imageId: randomUUID() }), 404, 'not_found');
  });

  const imageSearch = (data: Buffer, name = 'x.png') => svc.api().post('/v1/search/image').attach('image', data, name);

  test('uploaded images: corrupt, truncated, empty, fake, oversized and bombs', async () => {
    const jpeg = await colourImage('red', { format: 'jpeg', width: 200, height: 200 });
    expectError(await imageSearch(Buffer.from('definitely not an image'), 'fake.jpg'), 415, 'image_unsupported');
    expectError(await imageSearch(jpeg.subarray(0, Math.floor(jpeg.length / 2)), 'cut.jpg'), 422, 'image_corrupt');
    expectError(await imageSearch(Buffer.alloc(0), 'empty.png'), 422, 'image_empty');
    expectError(await imageSearch(pngBombHeader(100_000, 100_000), 'bomb.png'), 413, 'image_too_large');
    const big = await sharp({ create: { width: 2500, height: 2000, channels: 3, background: '#f00' } })
      .png()
      .toBuffer();
    expectError(await imageSearch(big, 'big.png'), 413, 'image_too_large');
    expectError(await imageSearch(Buffer.alloc(300_000, 1), 'huge.png'), 413, 'upload_limit_file_size');
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="red"/></svg>');
    expectError(await imageSearch(svg, 'x.svg'), 415, 'image_unsupported');
  });

  test('image search needs exactly one of an upload or an id', async () => {
    expectError(await svc.api().post('/v1/search/image').send({}), 400, 'validation_error');
    expectError(
      await svc
        .api()
        .post('/v1/search/image')
        .field('imageId', randomUUID())
        .attach('image', await colourImage('red'), 'r.png'),
      400,
      'validation_error',
    );
  });

  test('a NUL character (U+0000) in the path, the query string, a JSON body or a form field is a 400 that names where', async () => {
    const jobs = await svc.services.db.ingestJob.count();
    expectError(await textSearch({ query: '红\u0000色' }), 400, 'validation_error');
    const inFilter = await textSearch({ query: '红', filters: { album: 'a\u0000' } });
    expectError(inFilter, 400, 'validation_error');
    expect(inFilter.body.error.message).toMatch(/body\.filters\.album contains a NUL/);
    expectError(await svc.api().get('/v1/images?album=a%00b'), 400, 'validation_error');
    expectError(await svc.api().delete('/v1/owners/a%00b'), 400, 'validation_error');
    expectError(await svc.api().post('/v1/admin/ingest').send({ owner: 'a', folder: '.\u0000' }), 400, 'validation_error');
    const upload = await svc
      .api()
      .post('/v1/admin/ingest')
      .field('owner', 'bob')
      .field('albums', JSON.stringify(['假期\u0000']))
      .attach('files', await colourImage('green'), 'g.png');
    expectError(upload, 400, 'validation_error');
    expect(upload.body.error.message).toMatch(/value\[0\] contains a NUL character.*albums/s);
    expect(await svc.services.db.ingestJob.count()).toBe(jobs);
  });

  describe('admin ingest', () => {
    const ingest = (body: object, key: string | null = ADMIN_KEY) => svc.api(key).post('/v1/admin/ingest').send(body);

    test('needs a valid key', async () => {
      expectError(await ingest({ owner: 'a', folder: '.' }, null), 401, 'unauthorized');
      expectError(await ingest({ owner: 'a', folder: '.' }, 'wrong'), 401, 'unauthorized');
      expectError(await ingest({ owner: 'a', folder: '.' }, `isk_${'x'.repeat(43)}`), 401, 'unauthorized');
      expectError(await svc.api(null).get(`/v1/admin/jobs/${randomUUID()}`), 401, 'unauthorized');
      expectError(await svc.api(null).post('/v1/search/text').send({ query: '红' }), 401, 'unauthorized');
    });

    test('folders outside the allowed roots are refused, by path, by .. and by symlink', async () => {
      const outside = await tempDir('outside');
      await writeFile(path.join(outside, 'secret.png'), await colourImage('red'));
      await symlink(outside, path.join(svc.inbox, 'escape'));
      expectError(await ingest({ owner: 'a', folder: outside }), 403, 'path_not_allowed');
      expectError(await ingest({ owner: 'a', folder: '../' }), 403, 'path_not_allowed');
      expectError(await ingest({ owner: 'a', folder: `${svc.inbox}/../${path.basename(svc.inbox)}` }), 403, 'path_not_allowed');
      expectError(await ingest({ owner: 'a', folder: 'escape' }), 403, 'path_not_allowed');
      expectError(await ingest({ owner: 'a', folder: 'missing' }), 404, 'not_found');
      expect(await svc.services.db.ingestJob.count()).toBe(0);
    });

    test('a symlink inside an allowed folder is not followed', async () => {
      const outside = await tempDir('outside2');
      await writeFile(path.join(outside, 'secret.png'), await colourImage('blue'));
      const dir = path.join(svc.inbox, 'with-link');
      await mkdir(dir);
      await writeFile(path.join(dir, 'ok.png'), await colourImage('green'));
      await symlink(outside, path.join(dir, 'link'));
      await symlink(path.join(outside, 'secret.png'), path.join(dir, 'secret.png'));
      const res = await ingest({ owner: 'a', folder: 'with-link' });
      expect(res.status).toBe(202);
      const items = await svc.services.db.ingestItem.findMany({ where: { jobId: res.body.jobId } });
      expect(items.map((i) => path.basename(i.source))).toEqual(['ok.png']);
      await svc.services.ingest.idle();
    });

    test.each([
      ['no owner (operator keys must name one)', { folder: '.' }],
      ['an invalid owner', { owner: 'a b/c', folder: '.' }],
      ['two sources', { owner: 'a', folder: '.', urls: ['http://example.com/x.png'] }],
      ['no source', { owner: 'a' }],
      ['a non-http URL', { owner: 'a', urls: ['file:///etc/passwd'] }],
      ['a URL with credentials', { owner: 'a', urls: ['http://u:p@example.com/x.png'] }],
      ['an empty URL list', { owner: 'a', urls: [] }],
    ])('rejects %s', async (_name, body) => {
      const res = await ingest(body);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.body.error.code).toMatch(/validation_error|url_not_allowed/);
    });
  });
});
