import path from 'node:path';
import { COLOURS } from '../../scripts/test-pack/concepts';
import { CaptionService, type Captioner } from '../../src/search/captions';
import type { ImageRecord } from '../../src/search/imageRecord';
import { createLogger } from '../../src/util/logger';
import { writeColourLibrary } from '../helpers/files';
import { colourImage } from '../helpers/images';
import { tempDir, testEnv } from '../helpers/env';
import { captionFor } from '../../scripts/test-pack/makeCaptioner';
import { startTestService, waitForJob, type TestService } from '../helpers/service';

/** One caption per colour, in Chinese, in the shared corpus. */
const CAPTIONS = COLOURS.map((c) => ({ id: `cap-${c.key}`, text: `一件${c.words[0]}色的东西` }));

interface Hit {
  id: string;
  source: string;
  caption?: { text: string; model: string } | null;
  captionError?: string;
}

async function ingestLibrary(svc: TestService, owner: string) {
  const lib = await writeColourLibrary(path.join(svc.inbox, owner));
  const job = await svc.services.ingest.createFolderJob(owner, owner);
  await svc.services.ingest.runJob(job);
  return lib;
}

describe('image-to-text retrieval and captions', () => {
  let svc: TestService;
  let library: Map<string, string>;
  const admin = (url: string) => svc.api().post(url);

  beforeAll(async () => {
    svc = await startTestService();
    library = await ingestLibrary(svc, 'alice');
    const res = await admin('/v1/admin/texts').send({ texts: [...CAPTIONS, { id: 'private', text: '爱丽丝的红色围巾', owner: 'alice' }] });
    expect(res.status).toBe(200);
    expect(res.body.count).toBe(CAPTIONS.length + 1);
  });
  afterAll(async () => {
    await svc.close();
    await svc.database.drop();
  });

  test('an uploaded image retrieves the texts that describe it', async () => {
    const res = await svc
      .api()
      .post('/v1/retrieve/text')
      .attach('image', await colourImage('blue', { seed: 9 }), 'q.png')
      .field('limit', '3');
    expect(res.status).toBe(200);
    expect(res.body.hits[0]).toMatchObject({ externalId: 'cap-blue', text: '一件蓝色的东西', owner: null });
    expect(res.body.hits).toHaveLength(3);
  });

  test('an indexed image id works too, and owners see only their own texts plus shared ones', async () => {
    const red = ((await svc.api().post('/v1/search/text').send({ query: '红', limit: 1 })).body.hits as Hit[])[0]!;
    const asAlice = await svc.api().post('/v1/retrieve/text').send({ imageId: red.id, owner: 'alice', limit: 2 });
    expect(asAlice.body.hits.map((h: { externalId: string }) => h.externalId).sort()).toEqual(['cap-red', 'private']);
    const asBob = await svc.api().post('/v1/retrieve/text').send({ imageId: red.id, owner: 'bob', limit: 2 });
    // Bob may not even use Alice's image as a query.
    expect(asBob.status).toBe(404);
  });

  test('adding the same texts again changes nothing', async () => {
    const before = await svc.services.texts.count();
    await admin('/v1/admin/texts').send({ texts: CAPTIONS });
    expect(await svc.services.texts.count()).toBe(before);
  });

  test('search hits get captions on request, computed once and then served from the cache', async () => {
    await svc.services.db.caption.deleteMany();
    const first = await svc
      .api()
      .post('/v1/search/text')
      .send({ query: '绿色', limit: 2, caption: true, filters: { owner: 'alice' } });
    const hits = first.body.hits as Hit[];
    expect(hits[0]).toMatchObject({ source: library.get('green'), caption: { text: '一件绿色的东西', model: 'retrieval:test-pack@1' } });
    expect(await svc.services.db.caption.count()).toBe(2);

    // Prove the second answer comes from Postgres: change the stored caption behind the service's back.
    await svc.services.db.caption.updateMany({ where: { imageId: hits[0]!.id }, data: { text: '缓存里的说明' } });
    const second = await svc
      .api()
      .post('/v1/search/text')
      .send({ query: '绿色', limit: 2, caption: true, filters: { owner: 'alice' } });
    expect((second.body.hits as Hit[])[0]!.caption!.text).toBe('缓存里的说明');

    const without = await svc.api().post('/v1/search/text').send({ query: '绿色', limit: 2 });
    expect((without.body.hits as Hit[])[0]).not.toHaveProperty('caption');
  });

  test('image search can caption its hits as well', async () => {
    const res = await svc
      .api()
      .post('/v1/search/image')
      .attach('image', await colourImage('yellow', { seed: 4 }), 'y.png')
      .field('caption', 'true')
      .field('limit', '1');
    expect((res.body.hits as Hit[])[0]!.caption!.text).toBe('一件黄色的东西');
  });

  test('new texts for an owner invalidate that owner’s cached retrieval captions', async () => {
    await svc.api().post('/v1/search/text').send({ query: '紫', limit: 1, caption: true });
    expect(await svc.services.db.caption.count({ where: { image: { owner: 'alice' } } })).toBeGreaterThan(0);
    await admin('/v1/admin/texts').send({ texts: [{ text: '紫色的葡萄', owner: 'alice' }] });
    expect(await svc.services.db.caption.count({ where: { image: { owner: 'alice' } } })).toBe(0);
  });

  test('with no texts for an owner, hits are captioned by their auto tags', async () => {
    await ingestLibrary(svc, 'nobody-texts');
    await svc.services.db.textEntry.deleteMany({ where: { owner: '' } });
    const res = await svc
      .api()
      .post('/v1/search/text')
      .send({ query: '白', limit: 1, caption: true, filters: { owner: 'nobody-texts' } });
    expect(res.status).toBe(200);
    // Shared texts were removed from Postgres; retrieval only trusts rows that still exist.
    const [hit] = res.body.hits as Hit[];
    expect(hit!.captionError).toBeUndefined();
    expect(hit!.caption).toMatchObject({ text: expect.stringContaining('白色'), model: expect.stringMatching(/^autotags:/) });
    await admin('/v1/admin/texts').send({ texts: CAPTIONS });
  });

  test('zero-shot classification ranks the right label first', async () => {
    const res = await svc
      .api()
      .post('/v1/classify')
      .attach('image', await colourImage('orange', { seed: 2 }), 'o.png')
      .field('labels', JSON.stringify(['红色', '橙色', '蓝色', '黑色']));
    expect(res.status).toBe(200);
    expect(res.body.labels[0].label).toBe('橙色');
    const total = (res.body.labels as { probability: number }[]).reduce((a, l) => a + l.probability, 0);
    expect(total).toBeCloseTo(1, 5);
    const bad = await svc
      .api()
      .post('/v1/classify')
      .send({ imageId: (await svc.services.db.image.findFirstOrThrow()).id, labels: [] });
    expect(bad.status).toBe(400);
  });
});

describe('generative captioner (transformers.js image-to-text pipeline)', () => {
  test('captions every image at ingest in the background, once; searches return the stored captions; they survive a restart and go with their image', async () => {
    const env = { CAPTION_MODEL_DIR: testEnv('TEST_CAPTIONER_DIR'), OCR: 'off' };
    const model = 'generative:test-captioner';
    const first = await startTestService(env);
    let svc = first;
    try {
      const lib = await writeColourLibrary(path.join(svc.inbox, 'alice'));
      const started = await svc.api().post('/v1/admin/ingest').send({ owner: 'alice', folder: 'alice' }).expect(202);
      const status = await waitForJob(svc, started.body.jobId);
      expect(status.stages.captions).toEqual({ pending: 0, done: lib.size, failed: 0 });
      expect(await svc.services.db.caption.count({ where: { model } })).toBe(lib.size);

      const search = () => svc.api().post('/v1/search/text').send({ query: '紫', limit: 3, caption: true }).expect(200);
      const hits = (await search()).body.hits as Hit[];
      expect(hits[0]).toMatchObject({ source: lib.get('purple'), caption: { text: captionFor('purple'), model } });
      for (const h of hits) {
        const key = [...lib].find(([, file]) => file === h.source)![0];
        expect(h.caption!.text).toBe(captionFor(key));
      }

      const detail = await svc.api().get(`/v1/images/${hits[0]!.id}?owner=alice`).expect(200);
      expect(detail.body.caption).toEqual({ text: captionFor('purple'), original: null, model, language: 'zh', createdAt: expect.any(String) });
      // A word of a caption finds its image, and the hit says the caption matched.
      const byWords = await svc
        .api()
        .post('/v1/search/text')
        .send({ query: '紫色的图片', mode: 'ocr', filters: { owner: 'alice' } })
        .expect(200);
      expect(byWords.body.hits[0]).toMatchObject({ source: lib.get('purple'), match: { matchedField: 'caption', matchedText: captionFor('purple') } });

      await svc.close();
      svc = await startTestService(env, { database: first.database, dataDir: first.dataDir });
      await svc.services.stages.idle();
      // Nothing made again after the restart: the captions were stored once per image and model.
      expect(await svc.services.db.caption.count({ where: { model } })).toBe(lib.size);
      expect(((await search()).body.hits as Hit[])[0]!.caption!.text).toBe(captionFor('purple'));

      await svc.api().delete(`/v1/images/${hits[0]!.id}?owner=alice`).expect(200);
      expect(await svc.services.db.caption.count({ where: { imageId: hits[0]!.id } })).toBe(0);
      expect(((await search()).body.hits as Hit[]).map((h) => h.id)).not.toContain(hits[0]!.id);
    } finally {
      await svc.close();
      await svc.database.drop();
    }
  }, 120_000);
});

describe('a failing or missing captioner never fails a search', () => {
  test('an unusable CAPTION_MODEL_DIR: ingest completes, the caption stage keeps the reason and retries later, searches fall back to auto tags', async () => {
    const svc = await startTestService({ CAPTION_MODEL_DIR: await tempDir('no-model') });
    try {
      const lib = await writeColourLibrary(svc.inbox);
      const job = await svc.services.ingest.createFolderJob('alice', '.');
      const status = await waitForJob(svc, (svc.services.ingest.enqueue(job), job));
      expect(status).toMatchObject({ state: 'completed', done: lib.size, failed: 0, stages: { captions: { pending: lib.size, done: 0, failed: 0 } } });
      const tasks = await svc.services.db.stageTask.findMany({ where: { stage: 'captions' } });
      expect(tasks.every((t) => t.attempts === 1 && t.dueAt > new Date() && /no-model|not found|Could not/i.test(t.error ?? ''))).toBe(true);
      const res = await svc.api().post('/v1/search/text').send({ query: '蓝', limit: 1, caption: true });
      expect(res.status).toBe(200);
      const hit = (res.body.hits as Hit[])[0]!;
      expect(hit.source).toBe(lib.get('blue'));
      expect(hit.caption).toMatchObject({ text: expect.stringContaining('蓝色'), model: expect.stringMatching(/^autotags:/) });
    } finally {
      await svc.close();
      await svc.database.drop();
    }
  });

  test('a slow captioner is cut off at the timeout; errors are per image', async () => {
    const svc = await startTestService();
    try {
      const slow: Captioner = { model: 'slow', caption: () => new Promise(() => undefined) };
      const image = { id: '00000000-0000-4000-8000-000000000000' } as ImageRecord;
      const service = new CaptionService(svc.services.repos.texts, slow, 50, createLogger('silent'));
      const out = await service.forImages([image]);
      expect(out.get(image.id)).toEqual({ error: expect.stringMatching(/longer than 50 ms/) });
      const disabled = new CaptionService(svc.services.repos.texts, null, 50, createLogger('silent'));
      expect((await disabled.forImages([image])).get(image.id)).toEqual({ error: 'caption unavailable: captioning is not configured' });
    } finally {
      await svc.close();
      await svc.database.drop();
    }
  });
});
