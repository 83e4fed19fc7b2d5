import { ImageSearchClient } from '../../src/client/imageSearchClient';
import { colourImage, photoAt } from '../helpers/images';
import { isClean } from '../../src/library/consistency';
import { ADMIN_KEY, startTestService, waitForJob, type TestService } from '../helpers/service';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';

describe('places: photos with GPS get country, province and city at ingest; place filters, a facet, and places read from the query', () => {
  let svc: TestService;
  let server: http.Server;
  let client: ImageSearchClient;
  beforeAll(async () => {
    svc = await startTestService({ OCR: 'off' });
    server = svc.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    client = new ImageSearchClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, apiKey: ADMIN_KEY });
    const files = [
      { name: 'bj.jpg', data: await photoAt(39.9042, 116.4074, 1), externalId: 'bj' },
      { name: 'hz.jpg', data: await photoAt(30.2741, 120.1551, 2), externalId: 'hz' },
      { name: 'paris.jpg', data: await photoAt(48.8566, 2.3522, 3), externalId: 'paris' },
      { name: 'plain.png', data: await colourImage('red', { seed: 4 }), externalId: 'plain' },
    ];
    await client.waitForJob((await client.ingest({ owner: 'pat', files })).jobId);
    await svc.services.stages.idle();
  }, 120_000);
  afterAll(async () => {
    server.close();
    await svc.close();
    await svc.database.drop();
  });

  test('the place is on the image, in Chinese and English; a photo without GPS has none', async () => {
    expect((await client.getByExternalId('hz', 'pat')).place).toEqual({
      country: { code: 'CN', zh: '中国', en: 'China' },
      province: { zh: '浙江省', en: 'Zhejiang' },
      city: { zh: '杭州市', en: 'Hangzhou' },
    });
    expect((await client.getByExternalId('paris', 'pat')).place).toMatchObject({ country: { zh: '法国' }, city: { en: 'Paris' } });
    expect((await client.getByExternalId('plain', 'pat')).place).toBeNull();
  });

  test('place filters the listing and the search by any of its names, at any level; the facet counts each place', async () => {
    const listed = async (place: string) => (await client.listImages({ owner: 'pat', place })).images.map((i) => i.externalId).sort();
    expect(await listed('北京')).toEqual(['bj']);
    expect(await listed('浙江省')).toEqual(['hz']);
    expect(await listed('Hangzhou')).toEqual(['hz']);
    expect(await listed('中国')).toEqual(['bj', 'hz']);
    expect(await listed('france')).toEqual(['paris']);
    expect(await listed('东京')).toEqual([]);
    const searched = async (place: string) =>
      (await client.searchText({ query: '红色', limit: 10, filters: { owner: 'pat', place } })).hits.map((h) => h.externalId).sort();
    expect(await searched('杭州')).toEqual(['hz']);
    expect(await searched('china')).toEqual(['bj', 'hz']);
    const facet = (await client.listPlaces('pat')).places;
    expect(facet.map((f) => [f.place.city?.zh ?? f.place.city?.en, f.count]).sort()).toEqual([
      ['Paris', 1],
      ['北京市', 1],
      ['杭州市', 1],
    ]);
  });

  test('北京的红 filters to Beijing and searches 红; a place with no photos there, or readPlaces false, is searched as words', async () => {
    const beijing = await client.searchText({ query: '北京的红', limit: 10, filters: { owner: 'pat' } });
    expect(beijing.parsed).toMatchObject({ text: '红', place: { phrase: '北京', place: '北京' } });
    expect(beijing.hits.map((h) => h.externalId)).toEqual(['bj']);
    const tokyo = await client.searchText({ query: '日本的红', limit: 10, filters: { owner: 'pat' } });
    expect(tokyo.parsed).toMatchObject({ text: '日本的红', place: null });
    expect(tokyo.hits.length).toBe(4);
    const asWords = await client.searchText({ query: '北京的红', limit: 10, readPlaces: false, filters: { owner: 'pat' } });
    expect(asWords.parsed).toMatchObject({ text: '北京的红', place: null });
  });

  test('a re-index keeps the place in the payload: a vector lost and repaired by reconcile is still found by its place', async () => {
    const hz = await client.getByExternalId('hz', 'pat');
    await svc.services.images.delete([hz.id]);
    const repair = await svc.api().post('/v1/admin/reconcile').send({ fix: true }).expect(200);
    await waitForJob(svc, repair.body.reindexJobId as string);
    const searched = await client.searchText({ query: '红色', limit: 10, filters: { owner: 'pat', place: '杭州' } });
    expect(searched.hits.map((h) => h.externalId)).toEqual(['hz']);
    expect(isClean(await svc.services.reconcile(false))).toBe(true);
  });

  test("a photo from a new place is read from the words as soon as it is placed, though the owner's places were asked before", async () => {
    expect((await client.searchText({ query: '上海的红', limit: 10, filters: { owner: 'pat' } })).parsed?.place).toBeNull();
    const files = [{ name: 'sh.jpg', data: await photoAt(31.2304, 121.4737, 5), externalId: 'sh' }];
    await client.waitForJob((await client.ingest({ owner: 'pat', files })).jobId);
    await svc.services.stages.idle();
    const shanghai = await client.searchText({ query: '上海的红', limit: 10, filters: { owner: 'pat' } });
    expect(shanghai.parsed).toMatchObject({ text: '红', place: { place: '上海' } });
    expect(shanghai.hits.map((h) => h.externalId)).toEqual(['sh']);
  });
});
