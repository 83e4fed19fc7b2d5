import request from 'supertest';
import { createApp } from '../../src/api/app';
import { API_ROUTES } from '../../src/api/contract';
import { OPERATOR_SCOPES, TENANT_SCOPES } from '../../src/auth/principal';
import { encodeCursor } from '../../src/api/schemas/requests';
import { NotFound } from '../../src/search/searchService';
import { ADMIN_KEY, stubServices, TENANT_KEY } from './stubServices';

/** Route rules on the real Express app over stub services: no database, no model. */
describe('routes (fast tier)', () => {
  const setup = () => {
    const stubs = stubServices();
    const app = createApp(stubs.services, { version: 'fast' });
    const as = (key: string | null) => ({
      post: (p: string) => (key ? request(app).post(p).set('authorization', `Bearer ${key}`) : request(app).post(p)),
      get: (p: string) => (key ? request(app).get(p).set('authorization', `Bearer ${key}`) : request(app).get(p)),
    });
    return { ...stubs, admin: as(ADMIN_KEY), tenant: as(TENANT_KEY), anonymous: as(null), other: as('isk_unknown') };
  };

  test('the OpenAPI document describes every route the app serves, and no other', () => {
    const app = createApp(stubServices().services, { version: 'fast' });
    const served = routesOf((app as unknown as { router: { stack: Layer[] } }).router.stack).sort();
    const documented = Object.values(API_ROUTES)
      .map((c) => `${c.method} ${c.path}`)
      .sort();
    expect(served).toEqual(documented);
  });

  test('every route says who may call it: operator routes hold operator scopes, owner routes the scopes an owner may hold', () => {
    for (const [name, r] of Object.entries(API_ROUTES)) {
      const a = r.access;
      const fits = a.caller === 'public' || (a.caller === 'operator' ? OPERATOR_SCOPES.includes(a.scope) : TENANT_SCOPES.includes(a.scope));
      expect({ name, fits }).toEqual({ name, fits: true });
    }
  });

  test('keys: none or unknown is 401, a missing scope is 403', async () => {
    const { anonymous, other, tenant } = setup();
    expect((await anonymous.post('/v1/search/text').send({ query: '花' })).body.error.code).toBe('unauthorized');
    expect((await other.post('/v1/search/text').send({ query: '花' })).status).toBe(401);
    const res = await tenant.post('/v1/admin/ingest').send({ urls: ['https://example.com/a.jpg'] });
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({ code: 'forbidden' });
  });

  test.each([
    ['an empty query', { query: '' }, /query is empty/],
    ['a query over the limit', { query: 'x'.repeat(257) }, /longer than 256/],
    ['an unknown field', { query: '花', colour: 'red' }, /colour/],
    ['limit 0', { query: '花', limit: 0 }, /limit/],
    ['offset and cursor', { query: '花', offset: 3, cursor: encodeCursor(3) }, /either offset or cursor/],
    ['a forged cursor', { query: '花', cursor: 'not-a-cursor' }, /invalid cursor/],
    [
      'dates in the wrong order',
      { query: '花', filters: { takenFrom: '2024-02-01T00:00:00Z', takenTo: '2024-01-01T00:00:00Z' } },
      /takenFrom must not be after takenTo/,
    ],
  ])('a search body with %s is a 400 validation_error', async (_label, body, message) => {
    const { admin, search } = setup();
    const res = await admin.post('/v1/search/text').send(body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_error');
    expect(res.body.error.message).toMatch(message);
    expect(search.byText).not.toHaveBeenCalled();
  });

  test('broken JSON, a wrong content type and an unknown route get JSON errors', async () => {
    const { admin } = setup();
    const broken = await admin.post('/v1/search/text').set('content-type', 'application/json').send('{"query":');
    expect([broken.status, broken.body.error.code]).toEqual([400, 'invalid_json']);
    const text = await admin.post('/v1/search/text').set('content-type', 'text/plain').send('花');
    expect(text.status).toBe(415);
    const missing = await admin.get('/v1/nothing-here');
    expect([missing.status, missing.body.error.code]).toEqual([404, 'not_found']);
  });

  test('a query is normalised, a tenant is pinned to its own owner, and the cursor carries the next offset', async () => {
    const { tenant, search } = setup();
    search.byText.mockResolvedValueOnce({ hits: [], noGoodMatch: true, nextOffset: 20, model: 'stub@1' });
    const first = await tenant.post('/v1/search/text').send({ query: '  红色的花  ', limit: 20 });
    expect(first.status).toBe(200);
    expect(search.byText).toHaveBeenLastCalledWith(
      '红色的花',
      expect.objectContaining({ owner: 'alice' }),
      { limit: 20, offset: 0 },
      'semantic',
      expect.anything(),
    );
    await tenant.post('/v1/search/text').send({ query: '红色的花', limit: 20, cursor: first.body.nextCursor });
    expect(search.byText).toHaveBeenLastCalledWith(
      '红色的花',
      expect.anything(),
      { limit: 20, offset: 20 },
      'semantic',
      expect.objectContaining({ timeZone: expect.any(Function) }),
    );
    // The tenant's zone is its owner's, asked only when the words name a date.
    const options = (search.byText.mock.lastCall as unknown[])[4] as { timeZone: () => Promise<string> };
    await expect(options.timeZone()).resolves.toBe('Asia/Shanghai');
    const foreign = await tenant.post('/v1/search/text').send({ query: '花', filters: { owner: 'bob' } });
    expect([foreign.status, foreign.body.error.code]).toEqual([403, 'forbidden']);
  });

  test('a capture date stands for its whole day (UTC); a timestamp is taken as it is', async () => {
    const { admin, search } = setup();
    search.byText.mockResolvedValueOnce({ hits: [], noGoodMatch: true, nextOffset: null, model: 'stub@1' });
    const oneDay = await admin.post('/v1/search/text').send({ query: '花', filters: { takenFrom: '2024-05-01', takenTo: '2024-05-01' } });
    expect(oneDay.status).toBe(200);
    expect(search.byText).toHaveBeenLastCalledWith(
      '花',
      expect.objectContaining({ takenFrom: new Date('2024-05-01T00:00:00.000Z'), takenTo: new Date('2024-05-01T23:59:59.999Z') }),
      expect.anything(),
      'semantic',
      expect.anything(),
    );
    const bad = await admin.post('/v1/search/text').send({ query: '花', filters: { takenTo: '2024-13-01' } });
    expect([bad.status, bad.body.error.details[0].path]).toEqual([400, 'filters.takenTo']);
  });

  test('ingest takes exactly one source and an owner; errors thrown by services keep their status', async () => {
    const { admin, ingest, search } = setup();
    const both = await admin.post('/v1/admin/ingest').send({ owner: 'alice', folder: 'x', urls: ['https://example.com/a.jpg'] });
    expect(both.status).toBe(400);
    expect((await admin.post('/v1/admin/ingest').send({ urls: ['https://example.com/a.jpg'] })).body.error.message).toMatch(/owner is required/);
    const ok = await admin.post('/v1/admin/ingest').send({ owner: 'alice', urls: ['https://example.com/a.jpg'] });
    expect(ok.status).toBe(202);
    expect(ingest.enqueue).toHaveBeenCalledWith(ok.body.jobId);
    expect((await admin.get('/v1/admin/jobs/not-a-uuid')).status).toBe(400);
    expect((await admin.get(`/v1/admin/jobs/${ok.body.jobId}`)).status).toBe(404);
    search.getImageWithText.mockRejectedValueOnce(new NotFound('image gone'));
    const gone = await admin.get('/v1/images/44444444-4444-4444-8444-444444444444');
    expect(gone.body).toEqual({ error: { code: 'not_found', message: 'image gone' } });
  });
});

/** An Express 5 router layer: a route, or a router mounted at rawPath. */
interface Layer {
  rawPath?: unknown;
  route?: { path: string; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
}

/** "get /v1/images/{id}" for every route below a router stack, in OpenAPI's path syntax. */
function routesOf(stack: readonly Layer[], prefix = ''): string[] {
  return stack.flatMap((layer) => {
    const at = `${prefix}/${typeof layer.rawPath === 'string' ? layer.rawPath : ''}`.replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
    if (layer.route) {
      const path = `${prefix}/${layer.route.path}`.replace(/\/+/g, '/').replace(/:(\w+)/g, '{$1}');
      return Object.keys(layer.route.methods).map((method) => `${method} ${path}`);
    }
    return layer.handle.stack ? routesOf(layer.handle.stack, at) : [];
  });
}
