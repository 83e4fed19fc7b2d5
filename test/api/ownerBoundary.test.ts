import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type request from 'supertest';
import { API_ROUTES, type RouteName } from '../../src/api/contract';
import { ApiKeyService } from '../../src/auth/apiKeys';
import { smoothPhoto } from '../../bench/fixtures';
import { createTestDatabase } from '../helpers/database';
import { tempDir } from '../helpers/env';
import { colourImage } from '../helpers/images';
import { startTestService, waitForJob, type TestService } from '../helpers/service';
import { colourVideo } from '../helpers/video';

/**
 * The owner boundary, route by route: every served route is called as an attacker holding another owner's
 * key would (and with no key, a malformed one and a revoked one), then as the caller it is for. Alice is the
 * victim; bob holds an ordinary tenant key, and an old key of his that was given admin and worker.
 */
interface Sample {
  /** The path with alice's ids filled in (and a query string). */
  url: string;
  /** A JSON body. */
  body?: object;
  /** The caller the route is for: alice's own key, or the operator's. */
  as: 'alice' | 'operator' | 'anyone';
  /** What the rightful caller gets (proof the request itself is sound). */
  ok: number;
  /**
   * What bob gets: denied (403 or 404, as for a missing resource), or his own view (a 2xx answer about his
   * own library: an idempotent delete of nothing, his own webhooks).
   */
  bob: 'denied' | 'own';
  /** Changes alice's data when called rightfully: run last, in this order. */
  destructive?: number;
}

describe("owner boundary: no key of another owner reaches alice's data through any route", () => {
  let svc: TestService;
  const keys: Record<string, string> = {};
  const ids: Record<string, string> = {};
  /** Strings only alice's data holds: none may appear in an answer to bob. */
  const secrets: string[] = [];

  beforeAll(async () => {
    const database = await createTestDatabase();
    const dataDir = await tempDir('boundary');
    const inbox = path.join(dataDir, 'inbox');
    await mkdir(path.join(inbox, 'users', 'alice', 'photos'), { recursive: true });
    await mkdir(path.join(inbox, 'users', 'bob'), { recursive: true });
    await mkdir(path.join(inbox, 'alice-watch'), { recursive: true });
    await mkdir(path.join(inbox, 'users', 'bob', 'alice-shared'), { recursive: true });
    svc = await startTestService(
      { INGEST_TENANT_ROOT: path.join(inbox, 'users'), WEBHOOK_ALLOW_PRIVATE: 'true', DUPLICATE_THRESHOLD: '0.995' },
      { database, dataDir },
    );
    const { keys: service } = svc.services;
    keys.alice = (await service.create('alice-app', 'alice', ['search', 'ingest'])).key;
    keys.bob = (await service.create('bob-app', 'bob', ['search', 'ingest'])).key;
    // A key of bob's made before owners' keys were refused operator scopes, written as it was then.
    const old = await svc.services.repos.apiKeys.create({
      name: 'bob-old',
      prefix: 'isk_bobold1',
      hash: sha256('isk_bob-old-key'),
      owner: 'bob',
      scopes: ['search', 'ingest', 'admin', 'worker'],
    });
    keys.bobOld = 'isk_bob-old-key';
    ids.bobOldKey = old.id;
    const revoked = await service.create('alice-revoked', 'alice', ['search', 'ingest']);
    keys.revoked = revoked.key;
    ids.revokedKey = revoked.id;

    // Alice's library: photos with her own ids and album, two copies of one picture, a video, a folder of her own.
    const base = await smoothPhoto(640, 480, 5).jpeg({ quality: 92 }).toBuffer();
    let upload = svc
      .api(keys.alice)
      .post('/v1/admin/ingest')
      .field('albums', '爱丽丝的相册')
      .field('externalIds', JSON.stringify(['a-red', 'a-blue', 'a-copy1', 'a-copy2', 'a-clip', 'a-del1', 'a-del2', 'a-del3']));
    const files: [Buffer, string][] = [
      [await colourImage('red', { seed: 11 }), 'alice-secret-red.png'],
      [await colourImage('blue', { seed: 12 }), 'alice-secret-blue.png'],
      [base, 'alice-copy-1.jpg'],
      [await sharp(base).resize(320).jpeg({ quality: 60 }).toBuffer(), 'alice-copy-2.jpg'],
      [await colourVideo({ spans: [{ colour: 'green', seconds: 2 }] }), 'alice-clip.mp4'],
      [await colourImage('yellow', { seed: 13 }), 'alice-del-1.png'],
      [await colourImage('purple', { seed: 14 }), 'alice-del-2.png'],
      [await colourImage('orange', { seed: 15 }), 'alice-del-3.png'],
    ];
    for (const [data, name] of files) upload = upload.attach('files', data, name);
    const job = await upload;
    expect(job.status).toBe(202);
    ids.job = job.body.jobId as string;
    expect(await waitForJob(svc, job.body.jobId as string, 60_000)).toMatchObject({ done: 8, failed: 0 });
    const byExternal = async (externalId: string) => (await svc.services.db.image.findFirstOrThrow({ where: { owner: 'alice', externalId } })).id;
    for (const [name, ext] of Object.entries({ red: 'a-red', blue: 'a-blue', clip: 'a-clip', del1: 'a-del1', del2: 'a-del2', del3: 'a-del3' }))
      ids[name] = await byExternal(ext);

    await writeFile(path.join(inbox, 'users', 'alice', 'photos', 'alice-own-folder.png'), await colourImage('white', { seed: 16 }));
    const own = await svc.api(keys.alice).post('/v1/admin/ingest').send({ folder: 'photos' });
    expect(own.status).toBe(202);
    await waitForJob(svc, own.body.jobId);
    await writeFile(path.join(inbox, 'alice-watch', 'alice-watched.png'), await colourImage('black', { seed: 17 }));
    const watch = await svc.api().post('/v1/admin/watches').send({ owner: 'alice', folder: 'alice-watch' });
    expect(watch.status).toBe(201);
    ids.watch = watch.body.folder.id;
    await svc.services.watcher.settle();
    await svc.services.ingest.idle();
    await svc.services.ocr?.idle();
    await svc.services.stages.idle();

    const text = await svc
      .api(keys.alice)
      .post('/v1/admin/texts')
      .send({ texts: [{ text: '爱丽丝的秘密标题' }] });
    expect(text.status).toBe(200);
    const hook = await svc.api(keys.alice).post('/v1/webhooks').send({ url: 'http://127.0.0.1:9/alice-hook' });
    expect(hook.status).toBe(201);
    ids.webhook = hook.body.id;
    const groups = await svc.api(keys.alice).get('/v1/duplicates');
    expect(groups.body.groups).toHaveLength(1);
    ids.group = groups.body.groups[0].id;

    // Bob's own library, so that his own views are not empty by accident.
    const bobUpload = await svc
      .api(keys.bob)
      .post('/v1/admin/ingest')
      .attach('files', await colourImage('red', { seed: 21 }), 'bob.png');
    await waitForJob(svc, bobUpload.body.jobId);

    const rows = await svc.services.db.image.findMany({ where: { owner: 'alice' } });
    secrets.push(
      ...rows.flatMap((r) => [r.id, r.sha256, r.externalId ?? r.id]),
      'alice-secret-red',
      'alice-own-folder',
      'alice-watched',
      '爱丽丝的相册',
      '爱丽丝的秘密标题',
      'alice-hook',
      ids.job,
      ids.webhook!,
      ids.watch!,
      ids.group!,
      svc.dataDir,
    );
    // A key revoked through this instance is refused at once, though it was just verified and cached.
    expect((await svc.api(keys.revoked).get('/v1/images')).status).toBe(200);
    expect((await svc.api().delete(`/v1/admin/keys/${ids.revokedKey}`)).body).toEqual({ id: ids.revokedKey, revoked: true });
  }, 180_000);
  afterAll(async () => {
    await svc.close();
    await svc.database.drop();
  });

  const pack = () => svc.services.pack.key;
  /** One sound request per route, aimed at alice's data; a route without one fails the first test. */
  const samples = (): Record<RouteName, Sample> => ({
    searchText: { url: '/v1/search/text', body: { query: '红色', filters: { owner: 'alice' } }, as: 'alice', ok: 200, bob: 'denied' },
    searchImage: { url: '/v1/search/image', body: { imageId: ids.red }, as: 'alice', ok: 200, bob: 'denied' },
    retrieveText: { url: '/v1/retrieve/text', body: { imageId: ids.red }, as: 'alice', ok: 200, bob: 'denied' },
    classify: { url: '/v1/classify', body: { imageId: ids.red, labels: ['红色'] }, as: 'alice', ok: 200, bob: 'denied' },
    getImage: { url: `/v1/images/${ids.red}`, as: 'alice', ok: 200, bob: 'denied' },
    getCaption: { url: `/v1/images/${ids.red}/caption`, as: 'alice', ok: 200, bob: 'denied' },
    thumbnail: { url: `/v1/images/${ids.red}/thumbnail`, as: 'alice', ok: 200, bob: 'denied' },
    preview: { url: `/v1/images/${ids.red}/preview`, as: 'alice', ok: 200, bob: 'denied' },
    segmentThumbnail: { url: `/v1/images/${ids.clip}/segments/0/thumbnail`, as: 'alice', ok: 200, bob: 'denied' },
    segmentPreview: { url: `/v1/images/${ids.clip}/segments/0/preview`, as: 'alice', ok: 200, bob: 'denied' },
    movie: { url: `/v1/images/${ids.clip}/video`, as: 'alice', ok: 200, bob: 'denied' },
    listImages: { url: '/v1/images?owner=alice', as: 'alice', ok: 200, bob: 'denied' },
    listPlaces: { url: '/v1/places?owner=alice', as: 'alice', ok: 200, bob: 'denied' },
    getSettings: { url: '/v1/settings?owner=alice', as: 'alice', ok: 200, bob: 'denied' },
    updateSettings: { url: '/v1/settings?owner=alice', body: { timeZone: 'Asia/Tokyo' }, as: 'alice', ok: 200, bob: 'denied' },
    updateImage: { url: `/v1/images/${ids.blue}`, body: { favorite: true }, as: 'alice', ok: 200, bob: 'denied', destructive: 1 },
    deleteImage: { url: `/v1/images/${ids.del1}`, as: 'alice', ok: 200, bob: 'own', destructive: 2 },
    getByExternalId: { url: '/v1/images/by-external-id/a-red', as: 'alice', ok: 200, bob: 'denied' },
    updateByExternalId: { url: '/v1/images/by-external-id/a-blue', body: { tags: ['x'] }, as: 'alice', ok: 200, bob: 'denied', destructive: 1 },
    deleteByExternalId: { url: '/v1/images/by-external-id/a-del2', as: 'alice', ok: 200, bob: 'own', destructive: 2 },
    deleteImages: {
      url: '/v1/images/delete',
      body: { ids: [ids.del3], externalIds: ['a-red'] },
      as: 'alice',
      ok: 200,
      bob: 'own',
      destructive: 3,
    },
    listDuplicates: { url: '/v1/duplicates?owner=alice', as: 'alice', ok: 200, bob: 'denied' },
    dismissDuplicates: { url: `/v1/duplicates/${ids.group}/dismiss`, as: 'alice', ok: 200, bob: 'denied', destructive: 1 },
    createWebhook: { url: '/v1/webhooks', body: { url: 'http://127.0.0.1:9/x', owner: 'alice' }, as: 'alice', ok: 201, bob: 'denied' },
    listWebhooks: { url: '/v1/webhooks', as: 'alice', ok: 200, bob: 'own' },
    deleteWebhook: { url: `/v1/webhooks/${ids.webhook}`, as: 'alice', ok: 200, bob: 'own', destructive: 2 },
    webhookDeliveries: { url: `/v1/webhooks/${ids.webhook}/deliveries`, as: 'alice', ok: 200, bob: 'denied' },
    testWebhook: { url: `/v1/webhooks/${ids.webhook}/test`, as: 'alice', ok: 200, bob: 'denied' },
    ingest: { url: '/v1/admin/ingest', body: { owner: 'alice', urls: ['https://example.invalid/a.png'] }, as: 'alice', ok: 202, bob: 'denied' },
    addTexts: { url: '/v1/admin/texts', body: { texts: [{ text: '新的', owner: 'alice' }] }, as: 'alice', ok: 200, bob: 'denied' },
    getJob: { url: `/v1/admin/jobs/${ids.job}`, as: 'alice', ok: 200, bob: 'denied' },
    listJobs: { url: '/v1/admin/jobs?owner=alice', as: 'alice', ok: 200, bob: 'denied' },
    cancelJob: { url: `/v1/admin/jobs/${ids.job}/cancel`, as: 'alice', ok: 409, bob: 'denied' },
    retryJob: { url: `/v1/admin/jobs/${ids.job}/retry`, as: 'alice', ok: 409, bob: 'denied' },
    watchFolder: {
      url: '/v1/admin/watches',
      body: { owner: 'alice', folder: 'users/bob/alice-shared' },
      as: 'operator',
      ok: 201,
      bob: 'denied',
      destructive: 1,
    },
    listWatches: { url: '/v1/admin/watches?owner=alice', as: 'operator', ok: 200, bob: 'denied' },
    unwatchFolder: { url: `/v1/admin/watches/${ids.watch}`, as: 'operator', ok: 200, bob: 'denied', destructive: 4 },
    rescanWatch: { url: `/v1/admin/watches/${ids.watch}/rescan`, as: 'operator', ok: 200, bob: 'denied' },
    // The video's frame is read by a backfill only (ingest reads stills' text).
    ocrBackfill: { url: '/v1/admin/ocr/backfill', body: { owner: 'alice' }, as: 'operator', ok: 202, bob: 'denied' },
    reconcile: { url: '/v1/admin/reconcile', body: { fix: true }, as: 'operator', ok: 200, bob: 'denied' },
    purgeOwner: { url: '/v1/owners/alice', as: 'operator', ok: 200, bob: 'denied', destructive: 9 },
    createKey: { url: '/v1/admin/keys', body: { name: 'x', owner: 'alice', scopes: ['search'] }, as: 'operator', ok: 201, bob: 'denied' },
    listKeys: { url: '/v1/admin/keys', as: 'operator', ok: 200, bob: 'denied' },
    revokeKey: { url: `/v1/admin/keys/${ids.bobOldKey}`, as: 'operator', ok: 200, bob: 'denied', destructive: 5 },
    leaseBatch: { url: '/v1/workers/lease', body: { pack: pack() }, as: 'operator', ok: 409, bob: 'denied' },
    leaseCaption: { url: '/v1/workers/captions/lease', body: { captioner: 'captioner:x@1' }, as: 'operator', ok: 409, bob: 'denied' },
    answerCaption: {
      url: '/v1/workers/captions/00000000-0000-4000-8000-000000000000',
      body: { captioner: 'captioner:x@1', text: '红色的图片' },
      as: 'operator',
      ok: 409,
      bob: 'denied',
    },
    answerBatch: {
      url: '/v1/workers/leases/00000000-0000-4000-8000-000000000000',
      body: { pack: pack(), embeddings: '' },
      as: 'operator',
      ok: 409,
      bob: 'denied',
    },
    health: { url: '/healthz', as: 'anyone', ok: 200, bob: 'own' },
    ready: { url: '/readyz', as: 'anyone', ok: 200, bob: 'own' },
    metrics: { url: '/metrics', as: 'anyone', ok: 200, bob: 'own' },
    openapi: { url: '/v1/openapi.json', as: 'anyone', ok: 200, bob: 'own' },
  });

  /** A key, null for none, undefined for the operator's. */
  const call = (name: RouteName, key: string | null | undefined, headers: Record<string, string> = {}) => {
    const r = API_ROUTES[name];
    const s = samples()[name];
    const api = svc.api(key);
    const base = api[r.method](s.url);
    for (const [k, v] of Object.entries(headers)) base.set(k, v);
    return s.body ? base.send(s.body) : base;
  };

  /** Everything of alice's that a route could change, as one comparable value. */
  const aliceState = async () => {
    const db = svc.services.db;
    const where = { owner: 'alice' };
    const images = await db.image.findMany({ where, orderBy: { id: 'asc' } });
    return JSON.stringify({
      images: images.map((i) => [i.id, i.albums, i.favorite, i.hidden, i.archived, i.tags, i.takenAt, i.deletedAt, i.externalId, i.state]),
      vectors: (await svc.services.images.retrieve(images.map((i) => i.id))).map((p) => p.id).sort(),
      texts: await db.textEntry.findMany({ where, orderBy: { id: 'asc' } }),
      webhooks: await db.webhook.findMany({ where, orderBy: { id: 'asc' } }),
      watches: await db.watchedFolder.findMany({ where, orderBy: { id: 'asc' } }),
      jobs: await db.ingestJob.findMany({ where, orderBy: { id: 'asc' }, select: { id: true, state: true } }),
      groups: await db.duplicateGroup.findMany({ where, orderBy: { id: 'asc' }, select: { id: true, dismissedAt: true } }),
      keys: await db.apiKey.findMany({ where, orderBy: { id: 'asc' }, select: { id: true, revokedAt: true, scopes: true } }),
    });
  };

  /** Alice's strings in an answer, but those the request itself named (a 404 may echo the id asked for). */
  const leaked = (res: request.Response, sample: Sample) => {
    const asked = sample.url + JSON.stringify(sample.body ?? {});
    const text = res.text ?? (Buffer.isBuffer(res.body) ? '' : JSON.stringify(res.body));
    return secrets.filter((s) => text.includes(s) && !asked.includes(s));
  };

  test('every served route is declared, and has a sample here', () => {
    expect(Object.keys(samples()).sort()).toEqual(Object.keys(API_ROUTES).sort());
    for (const r of Object.values(API_ROUTES)) expect(['public', 'owner', 'operator']).toContain(r.access.caller);
  });

  test('no key, a malformed key, an unknown key and a revoked key are 401 on every keyed route', async () => {
    for (const [name, r] of Object.entries(API_ROUTES) as [RouteName, (typeof API_ROUTES)[RouteName]][]) {
      if (r.access.caller === 'public') continue;
      const got = [
        (await call(name, null)).status,
        (await call(name, null, { authorization: 'Bearer' })).status,
        (await call(name, 'isk_not-a-key')).status,
        (await call(name, 'not even the form of a key')).status,
        (await call(name, keys.revoked)).status,
      ];
      expect({ name, got }).toEqual({ name, got: [401, 401, 401, 401, 401] });
    }
  });

  test("bob's keys are refused or see only his own, and change nothing of alice's", async () => {
    const before = await aliceState();
    const all = samples();
    for (const name of Object.keys(API_ROUTES) as RouteName[]) {
      for (const key of [keys.bob!, keys.bobOld!]) {
        const res = await call(name, key);
        const s = all[name];
        const allowed = s.bob === 'denied' ? [403, 404] : [200];
        const who = key === keys.bob ? 'bob' : 'bobOld';
        expect({ name, who, status: allowed.includes(res.status) ? 'as allowed' : res.status, leaked: leaked(res, s) }).toEqual({
          name,
          who,
          status: 'as allowed',
          leaked: [],
        });
      }
    }
    expect(await aliceState()).toBe(before);
  }, 120_000);

  test("bob cannot reach alice's folders: not her watched folder, not hers under the tenant root, not through '..'", async () => {
    const before = await aliceState();
    for (const folder of [
      '../alice',
      '../../alice-watch',
      '/',
      '../alice/photos',
      path.join(svc.inbox, 'alice-watch'),
      path.join(svc.inbox, 'users', 'alice'),
    ]) {
      const res = await svc.api(keys.bob).post('/v1/admin/ingest').send({ folder });
      expect({ folder, refused: [403, 404].includes(res.status) }).toEqual({ folder, refused: true });
    }
    // A folder of bob's own that holds a folder watched for alice is not his to read either.
    await svc.api().post('/v1/admin/watches').send({ owner: 'alice', folder: 'users/bob/alice-shared' });
    expect((await svc.api(keys.bob).post('/v1/admin/ingest').send({ folder: '.' })).body.error.code).toBe('path_not_allowed');
    await svc.api().delete(`/v1/admin/watches/${(await svc.services.db.watchedFolder.findFirstOrThrow({ where: { path: { endsWith: 'alice-shared' } } })).id}`);
    expect(await aliceState()).toBe(before);
  });

  test("a signed URL reaches only the file it was made for; the old key's operator scopes are gone", async () => {
    const hit = (await svc.api(keys.alice).post('/v1/search/text').send({ query: '红色' })).body.hits[0] as { id: string; thumbnailUrl: string };
    expect((await svc.api(null).get(hit.thumbnailUrl)).status).toBe(200);
    const other = hit.thumbnailUrl.replace(hit.id, hit.id === ids.blue ? ids.red! : ids.blue!);
    expect((await svc.api(null).get(other)).status).toBe(403);
    expect((await svc.api(null).get(hit.thumbnailUrl.replace('/thumbnail', '/preview'))).status).toBe(403);
    expect(await svc.services.keys.narrowTenantKeys()).toEqual([{ id: ids.bobOldKey, prefix: 'isk_bobold1', owner: 'bob', removed: ['admin', 'worker'] }]);
    expect((await svc.services.db.apiKey.findUniqueOrThrow({ where: { id: ids.bobOldKey } })).scopes).toEqual(['search', 'ingest']);
  });

  test("alice's answers name no folder of the server: her folder's photo is shown by its path in her folder", async () => {
    const listed = await svc.api(keys.alice).get('/v1/images?limit=100');
    const sources = (listed.body.images as { source: string; sourceKind: string }[]).map((i) => `${i.sourceKind}:${i.source}`).sort();
    expect(sources).toContain('folder:photos/alice-own-folder.png');
    expect(sources).toContain('folder:alice-watch/alice-watched.png');
    expect(sources).toContain('upload:alice-secret-red.png');
    expect(listed.text).not.toContain(svc.dataDir);
    // The operator sees where the files are.
    expect((await svc.api().get('/v1/images?owner=alice&limit=100')).text).toContain(path.join(svc.inbox, 'users', 'alice', 'photos'));
  });

  test('a key revoked on another instance is refused once its cache entry expires (API_KEY_CACHE_MS)', async () => {
    const other = new ApiKeyService(svc.services.repos.apiKeys, 300);
    const temp = await svc.services.keys.create('temp', 'alice', ['search']);
    expect(await other.verify(temp.key)).not.toBeNull();
    await svc.services.keys.revoke(temp.id);
    await new Promise((r) => setTimeout(r, 350));
    expect(await other.verify(temp.key)).toBeNull();
  });

  test('the rightful caller gets through on every route; destructive ones last, the owner purge at the very end', async () => {
    const all = samples();
    const order = (Object.keys(all) as RouteName[]).sort((a, b) => (all[a].destructive ?? 0) - (all[b].destructive ?? 0));
    for (const name of order) {
      const s = all[name];
      const res = await call(name, s.as === 'alice' ? keys.alice! : s.as === 'operator' ? undefined : null);
      expect({ name, status: res.status, body: res.status === s.ok ? null : res.body }).toEqual({ name, status: s.ok, body: null });
      if (s.as === 'alice' && !Buffer.isBuffer(res.body)) expect({ name, dataDir: res.text.includes(svc.dataDir) }).toEqual({ name, dataDir: false });
    }
    expect(await svc.services.db.image.count({ where: { owner: 'alice', deletedAt: null } })).toBe(0);
  }, 120_000);
});

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
