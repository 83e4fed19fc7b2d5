import path from 'node:path';
import { writeColourLibrary } from '../helpers/files';
import { colourImage } from '../helpers/images';
import { startTestService, waitForJob, type TestService } from '../helpers/service';

interface Hit {
  source: string;
  relevance: number;
  score: number;
}

describe('relevance and "no good match" (real PostgreSQL, over HTTP)', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService({ OCR: 'off' });
    await writeColourLibrary(path.join(svc.inbox, 'pal'));
    const res = await svc.api().post('/v1/admin/ingest').send({ owner: 'rita', folder: 'pal' }).expect(202);
    await waitForJob(svc, res.body.jobId);
  }, 60_000);
  afterAll(async () => {
    await svc.close();
    await svc.database.drop();
  });

  const search = async (body: object) =>
    (
      await svc
        .api()
        .post('/v1/search/text')
        .send({ filters: { owner: 'rita' }, ...body })
        .expect(200)
    ).body;

  test('a query the library answers: the right photo is a good match, the others are not; relevance keeps the ranking’s order', async () => {
    const res = await search({ query: '红色' });
    const hits = res.hits as Hit[];
    expect(path.basename(hits[0]!.source, path.extname(hits[0]!.source))).toBe('red');
    expect(hits[0]!.relevance).toBeGreaterThanOrEqual(0.5);
    expect(hits.slice(1).every((h) => h.relevance < 0.5)).toBe(true);
    expect(res.noGoodMatch).toBe(false);
    const relevances = hits.map((h) => h.relevance);
    expect([...relevances].sort((a, b) => b - a)).toEqual(relevances);
    expect(hits.every((h) => h.relevance >= 0 && h.relevance <= 1)).toBe(true);
  });

  test('a query nothing in the library is about: hits still come, and the response says none is a good match', async () => {
    const res = await search({ query: '键盘和鼠标' });
    expect((res.hits as Hit[]).length).toBeGreaterThan(0);
    expect(res.noGoodMatch).toBe(true);
    expect((res.hits as Hit[]).every((h) => h.relevance < 0.5)).toBe(true);
  });

  test('exclusions: "-word" or exclude drop the photos that show the concept, and only those', async () => {
    const names = (res: { hits: Hit[] }) => res.hits.map((h) => path.basename(h.source, path.extname(h.source)));
    const all = names(await search({ query: '一张照片', mode: 'semantic', limit: 20 }));
    expect(all).toContain('red');
    const without = names(await search({ query: '一张照片 -红色', mode: 'semantic', limit: 20 }));
    expect(without).not.toContain('red');
    expect(without.sort()).toEqual(all.filter((n) => n !== 'red').sort());
    expect(names(await search({ query: '一张照片', exclude: ['红色', '蓝色'], mode: 'hybrid', limit: 20 })).sort()).toEqual(
      all.filter((n) => n !== 'red' && n !== 'blue').sort(),
    );
    // Nothing left to search for: no hits, and no error.
    expect(await search({ query: '-红色' })).toMatchObject({ hits: [], noGoodMatch: true });
  });

  test('an image plus words: "like this photo" blended with the text by a weight; another owner’s photo is not found', async () => {
    const rows = await svc.services.db.image.findMany({ where: { owner: 'rita' }, select: { id: true, source: true } });
    const red = rows.find((r) => path.basename(r.source).startsWith('red.'))!.id;
    const first = async (imageWeight: number) => {
      const res = await search({ query: '蓝色', mode: 'semantic', imageId: red, imageWeight });
      return (res.hits as Hit[]).slice(0, 2).map((h) => path.basename(h.source, path.extname(h.source)));
    };
    expect((await first(0))[0]).toBe('blue');
    expect((await first(1))[0]).toBe('red');
    expect((await first(0.5)).sort()).toEqual(['blue', 'red']);
    // A key of another owner names Rita's photo: answered as a photo that does not exist.
    const bob = (await svc.services.keys.create('bob-phone', 'bob', ['search'])).key;
    const res = await svc.api().post('/v1/search/text').set('authorization', `Bearer ${bob}`).send({ query: '蓝色', imageId: red });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });

  test('dates in the words become a capture-date range in the caller’s zone; the rest is searched; the answer says how it read the query', async () => {
    const rows = await svc.services.db.image.findMany({ where: { owner: 'rita' }, select: { id: true, source: true } });
    const idOf = (c: string) => rows.find((r) => path.basename(r.source).startsWith(`${c}.`))!.id;
    const year = Number(new Intl.DateTimeFormat('en', { timeZone: 'Asia/Shanghai', year: 'numeric' }).format(new Date()));
    await svc
      .api()
      .patch(`/v1/images/${idOf('red')}?owner=rita`)
      .send({ takenAt: `${year - 1}-07-15T10:00:00+08:00` })
      .expect(200);
    await svc
      .api()
      .patch(`/v1/images/${idOf('blue')}?owner=rita`)
      .send({ takenAt: `${year - 1}-10-03T10:00:00+08:00` })
      .expect(200);
    const summer = await search({ query: '去年夏天的照片', mode: 'semantic' });
    expect((summer.hits as Hit[]).map((h) => path.basename(h.source, path.extname(h.source)))).toEqual(['red']);
    expect(summer.parsed).toEqual({
      text: '照片',
      excluded: [],
      dates: { phrase: '去年夏天', from: new Date(`${year - 1}-05-31T16:00:00Z`).toISOString(), to: new Date(`${year - 1}-08-31T15:59:59.999Z`).toISOString() },
      place: null,
    });
    const holiday = await search({ query: `${year - 1}年国庆 -红色`, mode: 'hybrid' });
    expect((holiday.hits as Hit[]).map((h) => path.basename(h.source, path.extname(h.source)))).toEqual(['blue']);
    // Read in another zone when the request says so; a zone that does not exist is a 400.
    const ny = await search({ query: '去年夏天', timeZone: 'America/New_York' });
    expect(ny.parsed.dates.from).toBe(new Date(`${year - 1}-06-01T04:00:00Z`).toISOString());
    const bad = await svc.api().post('/v1/search/text').send({ query: '昨天', timeZone: 'Mars/Olympus' });
    expect(bad.status).toBe(400);
    // A filter the request gives wins over a date in the words, which are then searched as they are.
    const given = await search({ query: '去年夏天', filters: { owner: 'rita', takenFrom: `${year - 1}-10-01` } });
    expect(given.parsed.dates).toBeNull();
    // Or when asked: a sign reading 周末特价 is searched for its words.
    const words = await search({ query: '周末特价', readDates: false });
    expect(words.parsed).toEqual({ text: '周末特价', excluded: [], dates: null, place: null });
  });

  test('an owner’s own time zone: its queries’ dates are read there unless the request names one; an operator must name the owner', async () => {
    const year = Number(new Intl.DateTimeFormat('en', { timeZone: 'America/Vancouver', year: 'numeric' }).format(new Date()));
    const settings = (body?: object) =>
      body ? svc.api().patch('/v1/settings?owner=rita').send(body).expect(200) : svc.api().get('/v1/settings?owner=rita').expect(200);
    expect((await settings()).body).toEqual({ owner: 'rita', timeZone: null, effectiveTimeZone: 'Asia/Shanghai' });
    expect((await settings({ timeZone: 'America/Vancouver' })).body).toEqual({
      owner: 'rita',
      timeZone: 'America/Vancouver',
      effectiveTimeZone: 'America/Vancouver',
    });
    const vancouver = await search({ query: '去年夏天' });
    expect(vancouver.parsed.dates.from).toBe(new Date(`${year - 1}-06-01T07:00:00Z`).toISOString());
    // The request's own zone still wins; another owner keeps the default.
    expect((await search({ query: '去年夏天', timeZone: 'Asia/Shanghai' })).parsed.dates.from).toBe(new Date(`${year - 1}-05-31T16:00:00Z`).toISOString());
    expect((await search({ query: '去年夏天', filters: { owner: 'someone-else' } })).parsed.dates.from).toBe(
      new Date(`${year - 1}-05-31T16:00:00Z`).toISOString(),
    );
    // A zone that does not exist is a 400 and changes nothing; null goes back to the default.
    await svc.api().patch('/v1/settings?owner=rita').send({ timeZone: 'Mars/Olympus' }).expect(400);
    expect((await settings()).body.timeZone).toBe('America/Vancouver');
    expect((await settings({ timeZone: null })).body).toMatchObject({ timeZone: null, effectiveTimeZone: 'Asia/Shanghai' });
    await svc.api().get('/v1/settings').expect(400);
  });

  test('image queries are measured against images: the same photo is a good match', async () => {
    const res = await svc
      .api()
      .post('/v1/search/image')
      .attach('image', await colourImage('blue', { seed: 1 }), 'q.png')
      .field('filters', JSON.stringify({ owner: 'rita' }))
      .expect(200);
    expect(res.body.hits[0].relevance).toBeGreaterThanOrEqual(0.5);
    expect(res.body.noGoodMatch).toBe(false);
  });
});
