import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { VOCABULARY, repeatedWords } from '../../src/autotags/vocabulary';
import { colourImage } from '../helpers/images';
import { startTestService, waitForJob, type TestService } from '../helpers/service';

interface Tagged {
  id: string;
  source: string;
  autoTags: { label: string; score: number }[];
}

const COLOURS = ['red', 'green', 'blue', 'yellow'];

async function ingestColours(svc: TestService, owner: string): Promise<Map<string, Tagged>> {
  const folder = path.join(svc.inbox, owner);
  await mkdir(folder, { recursive: true });
  for (const [k, c] of COLOURS.entries()) await writeFile(path.join(folder, `${c}.png`), await colourImage(c, { seed: 40 + k }));
  const res = await svc.api().post('/v1/admin/ingest').send({ owner, folder: owner }).expect(202);
  const status = await waitForJob(svc, res.body.jobId);
  expect(status).toMatchObject({ done: 4, stages: { autotags: { pending: 0, done: 4, failed: 0 } } });
  const page = await svc.api().get(`/v1/images?owner=${owner}`).expect(200);
  return new Map((page.body.images as Tagged[]).map((i) => [path.basename(i.source, '.png'), i]));
}

describe('the built-in vocabulary', () => {
  test('about a thousand everyday photo concepts, each once, with documents and screenshots among them', () => {
    expect(VOCABULARY.length).toBeGreaterThanOrEqual(1000);
    expect(repeatedWords()).toEqual([]);
    const labels = VOCABULARY.map((c) => c.label);
    for (const word of ['海边', '日落', '两个人', '发票', '屏幕截图', '生日蛋糕', '猫', '红色']) expect(labels).toContain(word);
    expect(new Set(VOCABULARY.map((c) => c.group))).toEqual(
      new Set(['scene', 'nature', 'people', 'animal', 'food', 'object', 'vehicle', 'building', 'event', 'sport', 'document', 'colour', 'style']),
    );
  });
});

describe('auto tags', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService({ OCR: 'off' });
  }, 60_000);
  afterAll(async () => {
    await svc.close();
    await svc.database.drop();
  });

  test('made after ingest by the image pack: a red photo gets 红色; filterable in listings and searches; apart from the user’s tags', async () => {
    const lib = await ingestColours(svc, 'tess');
    const red = lib.get('red')!;
    expect(red.autoTags.map((t) => t.label)).toContain('红色');
    expect(red.autoTags.length).toBeLessThanOrEqual(5);
    // Best first, and each a real score.
    const scores = red.autoTags.map((t) => t.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    expect(lib.get('blue')!.autoTags.map((t) => t.label)).toContain('蓝色');
    expect(lib.get('blue')!.autoTags.map((t) => t.label)).not.toContain('红色');

    const listed = await svc.api().get('/v1/images?owner=tess&autoTags=红色').expect(200);
    expect((listed.body.images as Tagged[]).map((i) => i.id)).toEqual([red.id]);
    const searched = await svc
      .api()
      .post('/v1/search/text')
      .send({ query: '一张照片', filters: { owner: 'tess', autoTags: ['红色'] } })
      .expect(200);
    expect((searched.body.hits as Tagged[]).map((h) => h.id)).toEqual([red.id]);
    // In the lexical index too: the word finds the photo, and the hit says its tags matched.
    const byWord = await svc
      .api()
      .post('/v1/search/text')
      .send({ query: '红色', mode: 'ocr', filters: { owner: 'tess' } })
      .expect(200);
    expect(byWord.body.hits).toHaveLength(1);
    expect(byWord.body.hits[0]).toMatchObject({ id: red.id, match: { matchedField: 'tags', matchedText: expect.stringContaining('红色') } });
    // The user's own tags are another field: tagging red with 蓝色 does not make it an auto-tagged blue photo.
    await svc
      .api()
      .patch(`/v1/images/${red.id}?owner=tess`)
      .send({ tags: ['蓝色'] })
      .expect(200);
    const blue = await svc.api().get('/v1/images?owner=tess&autoTags=蓝色').expect(200);
    expect((blue.body.images as Tagged[]).map((i) => i.id)).toEqual([lib.get('blue')!.id]);
    const row = await svc.services.db.image.findUniqueOrThrow({ where: { id: red.id } });
    expect(row.autoTagsModel).toMatch(new RegExp(`^${svc.services.pack.key}/`));
    expect(row.payloadDirty).toBe(false);
  }, 60_000);

  test('with no captioner and no corpus, a caption is the auto tags, never "unavailable"', async () => {
    await ingestColours(svc, 'ursa');
    const res = await svc
      .api()
      .post('/v1/search/text')
      .send({ query: '红色', limit: 1, caption: true, filters: { owner: 'ursa' } });
    expect(res.status).toBe(200);
    const [hit] = res.body.hits as { caption: { text: string; model: string } | null; captionError?: string; autoTags: Tagged['autoTags'] }[];
    expect(hit!.captionError).toBeUndefined();
    expect(hit!.caption!.model).toMatch(/^autotags:/);
    expect(hit!.caption!.text).toBe(
      hit!.autoTags
        .slice(0, 3)
        .map((t) => t.label)
        .join(' · '),
    );
    expect(hit!.caption!.text).toContain('红色');
  }, 60_000);

  test('made again for a new vocabulary or pack, and gone with their image', async () => {
    const lib = await ingestColours(svc, 'vera');
    const green = lib.get('green')!;
    await svc.services.db.image.update({ where: { id: green.id }, data: { autoTags: ['过期'], autoTagScores: [0.1] } });
    // Tags made by another version (another pack or vocabulary) are made again after a start: every image is tagged again.
    await svc.services.db.stageTask.updateMany({ where: { stage: 'autotags' }, data: { version: 'old' } });
    await svc.close();
    svc = await startTestService({ OCR: 'off' }, { database: svc.database, dataDir: svc.dataDir });
    await svc.services.stages.idle();
    const again = await svc.api().get(`/v1/images/${green.id}?owner=vera`).expect(200);
    expect((again.body.autoTags as Tagged['autoTags']).map((t) => t.label)).toContain('绿色');

    await svc.api().delete(`/v1/images/${green.id}?owner=vera`).expect(200);
    expect(await svc.services.db.stageTask.count({ where: { imageId: green.id } })).toBe(0);
    const listed = await svc.api().get('/v1/images?owner=vera&autoTags=绿色').expect(200);
    expect(listed.body.images).toEqual([]);
    const byWord = await svc
      .api()
      .post('/v1/search/text')
      .send({ query: '绿色', mode: 'ocr', filters: { owner: 'vera' } })
      .expect(200);
    expect(byWord.body.hits).toEqual([]);
  }, 60_000);
});
