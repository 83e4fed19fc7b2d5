import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { colourImage } from '../helpers/images';
import { startTestService, waitForJob, type TestService } from '../helpers/service';
import { testEnv } from '../helpers/env';

interface Hit {
  id: string;
  owner: string;
  source: string;
  caption?: { text: string } | null;
}

describe('tenancy: owner A never sees owner B’s images, texts or thumbnails', () => {
  let svc: TestService;
  const keys: Record<string, string> = {};
  const ids: Record<string, string[]> = {};
  let aliceJob = '';

  beforeAll(async () => {
    svc = await startTestService();
    for (const owner of ['alice', 'bob']) keys[owner] = (await svc.services.keys.create(`${owner}-app`, owner, ['search', 'ingest'])).key;
    keys.searchOnly = (await svc.services.keys.create('viewer', 'alice', ['search'])).key;
    // Both libraries hold a red image; alice's also a blue one. Each uploads with its own key, naming no owner.
    const uploads = { alice: ['red', 'blue'], bob: ['red'] } as const;
    for (const [owner, colours] of Object.entries(uploads)) {
      let req = svc.api(keys[owner]).post('/v1/admin/ingest');
      for (const [i, c] of colours.entries()) req = req.attach('files', await colourImage(c, { seed: owner.length * 10 + i }), `${c}.png`);
      const res = await req;
      expect(res.status).toBe(202);
      if (owner === 'alice') aliceJob = res.body.jobId;
      await waitForJob(svc, res.body.jobId);
      ids[owner] = (await svc.services.db.image.findMany({ where: { owner } })).map((i) => i.id);
    }
    await svc
      .api(keys.alice)
      .post('/v1/admin/texts')
      .send({ texts: [{ text: '爱丽丝的红色秘密' }] });
    await svc
      .api(keys.bob)
      .post('/v1/admin/texts')
      .send({ texts: [{ text: '鲍勃的红色东西' }] });
  });
  afterAll(async () => {
    await svc.close();
    await svc.database.drop();
  });

  const as = (who: string) => svc.api(keys[who]);

  test('tenant texts are private to their owner', async () => {
    const rows = await svc.services.db.textEntry.findMany({ orderBy: { text: 'asc' } });
    expect(rows.map((r) => [r.owner, r.text])).toEqual([
      ['alice', '爱丽丝的红色秘密'],
      ['bob', '鲍勃的红色东西'],
    ]);
  });

  test('text search returns only the caller’s images, and naming another owner is refused', async () => {
    const res = await as('bob').post('/v1/search/text').send({ query: '红色', limit: 10 });
    expect((res.body.hits as Hit[]).map((h) => h.owner)).toEqual(['bob']);
    const alice = await as('alice').post('/v1/search/text').send({ query: '红色', limit: 10 });
    expect(new Set((alice.body.hits as Hit[]).map((h) => h.owner))).toEqual(new Set(['alice']));
    expect(alice.body.hits).toHaveLength(2);
    const cross = await as('bob')
      .post('/v1/search/text')
      .send({ query: '红色', filters: { owner: 'alice' } });
    expect(cross.status).toBe(403);
  });

  test('image search, by upload or by another owner’s id', async () => {
    const upload = await as('bob')
      .post('/v1/search/image')
      .attach('image', await colourImage('blue', { seed: 1 }), 'b.png');
    expect((upload.body.hits as Hit[]).every((h) => h.owner === 'bob')).toBe(true);
    const byId = await as('bob').post('/v1/search/image').send({ imageId: ids.alice![0] });
    expect(byId.status).toBe(404);
  });

  test('metadata, thumbnails and previews of another owner’s image are 404s', async () => {
    const id = ids.alice![0]!;
    for (const suffix of ['', '/thumbnail', '/preview']) {
      expect((await as('bob').get(`/v1/images/${id}${suffix}`)).status).toBe(404);
      expect((await as('alice').get(`/v1/images/${id}${suffix}`)).status).toBe(200);
    }
    expect((await as('bob').get(`/v1/images/${id}?owner=alice`)).status).toBe(403);
  });

  test('image-to-text retrieval and captions use only the caller’s and shared texts', async () => {
    const res = await as('bob')
      .post('/v1/retrieve/text')
      .attach('image', await colourImage('red', { seed: 3 }), 'r.png')
      .field('limit', '10');
    expect(res.body.hits.map((h: { text: string }) => h.text)).toEqual(['鲍勃的红色东西']);
    expect((await as('bob').post('/v1/retrieve/text').send({ imageId: ids.alice![0] })).status).toBe(404);
    const captioned = await as('bob').post('/v1/search/text').send({ query: '红', caption: true });
    expect((captioned.body.hits as Hit[])[0]!.caption!.text).toBe('鲍勃的红色东西');
    expect(
      (
        await as('bob')
          .post('/v1/classify')
          .send({ imageId: ids.alice![0], labels: ['红色'] })
      ).status,
    ).toBe(404);
  });

  test("jobs of another owner are invisible; without INGEST_TENANT_ROOT an owner's key ingests no folder", async () => {
    expect((await as('bob').get(`/v1/admin/jobs/${aliceJob}`)).status).toBe(404);
    expect((await as('alice').get(`/v1/admin/jobs/${aliceJob}`)).status).toBe(200);
    const folder = await as('alice').post('/v1/admin/ingest').send({ folder: '.' });
    expect([folder.status, folder.body.error.code]).toEqual([403, 'path_not_allowed']);
    expect(folder.body.error.message).toMatch(/INGEST_TENANT_ROOT/);
    const forOther = await as('alice')
      .post('/v1/admin/ingest')
      .send({ owner: 'bob', urls: ['https://example.com/x.png'] });
    expect(forOther.status).toBe(403);
  });

  test('scopes and revocation', async () => {
    expect((await as('searchOnly').post('/v1/search/text').send({ query: '蓝' })).status).toBe(200);
    expect(
      (
        await as('searchOnly')
          .post('/v1/admin/texts')
          .send({ texts: [{ text: 'x' }] })
      ).status,
    ).toBe(403);
    const temp = await svc.services.keys.create('temp', 'alice', ['search']);
    expect((await svc.api(temp.key).post('/v1/search/text').send({ query: '蓝' })).status).toBe(200);
    expect(await svc.services.keys.revoke(temp.prefix)).toBe(1);
    expect((await svc.api(temp.key).post('/v1/search/text').send({ query: '蓝' })).status).toBe(401);
  });

  test('keys are stored hashed', async () => {
    const rows = await svc.services.db.apiKey.findMany();
    for (const k of Object.values(keys)) expect(rows.some((r) => r.hash === k || r.prefix === k)).toBe(false);
  });

  test('the keys CLI creates, lists and revokes keys', async () => {
    const run = promisify(execFile);
    const root = path.resolve(__dirname, '../..');
    const env = { ...process.env, DATABASE_URL: svc.database.url, DATA_DIR: svc.dataDir, MODEL_DIR: testEnv('TEST_MODEL_DIR') };
    const cli = (...args: string[]) => run(path.join(root, 'node_modules/.bin/tsx'), ['src/cli/keys.ts', ...args], { cwd: root, env });
    const created = JSON.parse((await cli('create', '--name', 'cli', '--owner', 'carol', '--scopes', 'search,ingest')).stdout) as {
      key: string;
      prefix: string;
    };
    expect(created.key).toMatch(/^isk_/);
    expect((await svc.api(created.key).post('/v1/search/text').send({ query: '红' })).body.hits).toEqual([]);
    expect((await cli('list')).stdout).toContain(created.prefix);
    expect(JSON.parse((await cli('revoke', created.prefix)).stdout)).toEqual({ revoked: 1 });
    await expect(cli('create', '--name', 'x', '--scopes', 'search')).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/--owner.*--operator/) });
    await expect(cli('create', '--name', 'x', '--owner', 'carol', '--scopes', 'search,admin,worker')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('admin, worker: operator powers, for --operator keys only'),
    });
    await expect(cli('create', '--name', 'x', '--owner', 'carol', '--scopes', 'search,serch')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('unknown scope serch'),
    });
  });
});
