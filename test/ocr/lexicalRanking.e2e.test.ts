import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { foldText, indexTokens } from '../../src/ocr/textTokens';
import { colourImage } from '../helpers/images';
import { startTestService, waitForJob, type TestService } from '../helpers/service';

/** What each photo "reads", stored as OCR would store it (the ranking is under test, not the reader). */
const PRINTED: Record<string, string> = {
  airport: '上海浦东国际机场 T2航站楼',
  exactAirport: '浦东机场 停车场',
  station: '北京西站出口 Exit',
  receipt: '发票金额 128元',
  menu: '酸辣土豆丝 18元 宫保鸡丁 32元',
  mall: '美食广场 餐饮 三楼',
  park: '美食节 公园 入口',
  traditional: '臺北車站 東三門',
};

describe('the lexical half ranks as a search engine ranks CJK text (real PostgreSQL, over HTTP)', () => {
  let svc: TestService;
  const ids = new Map<string, string>();
  beforeAll(async () => {
    svc = await startTestService({ OCR: 'off', AUTO_TAGS: 'off' });
    const folder = path.join(svc.inbox, 'lex');
    await mkdir(folder, { recursive: true });
    const names = Object.keys(PRINTED);
    for (const [k, name] of names.entries()) await writeFile(path.join(folder, `${name}.png`), await colourImage('white', { seed: 300 + k }));
    const res = await svc.api().post('/v1/admin/ingest').send({ owner: 'lex', folder: 'lex' }).expect(202);
    await waitForJob(svc, res.body.jobId);
    const rows = await svc.services.db.image.findMany({ where: { owner: 'lex' }, select: { id: true, source: true } });
    for (const r of rows) ids.set(path.basename(r.source, '.png'), r.id);
    for (const [name, text] of Object.entries(PRINTED)) {
      const lines = text.split(' ').map((t) => ({ text: t, confidence: 0.99, box: [0, 0, 10, 10] as [number, number, number, number] }));
      await svc.services.repos.ocr.save(ids.get(name)!, 'test', lines, lines.map((l) => foldText(l.text)).join('\n'), indexTokens(text));
    }
  }, 60_000);
  afterAll(async () => {
    await svc.close();
    await svc.database.drop();
  });

  const found = async (query: string) => {
    const res = await svc
      .api()
      .post('/v1/search/text')
      .send({ query, mode: 'ocr', filters: { owner: 'lex' } })
      .expect(200);
    return (res.body.hits as { id: string }[]).map((h) => [...ids].find(([, id]) => id === h.id)![0]);
  };

  test('abbreviated, reordered and partial queries and queries with particles find the printed words; the exact phrase ranks first', async () => {
    expect(await found('浦东机场')).toEqual(['exactAirport', 'airport']);
    expect(await found('北京西站的出口')).toEqual(['station']);
    expect(await found('金额 发票')).toEqual(['receipt']);
    expect(await found('土豆丝')).toEqual(['menu']);
    expect(await found('台北车站')).toEqual(['traditional']);
    expect(await found('门')).toEqual(['traditional']);
    // Too little of the query is printed: a query of two pairs needs both (保鸡 is printed, 鸡块 is not).
    expect(await found('保鸡块')).toEqual([]);
    // Two of three pairs are: 宫保鸡块 finds the menu with 宫保鸡丁, ranked below what holds all of a query.
    expect(await found('宫保鸡块')).toEqual(['menu']);
    expect(await found('麻婆豆腐')).toEqual([]);
  });

  test('-word leaves out photos whose text holds it', async () => {
    expect((await found('美食')).sort()).toEqual(['mall', 'park']);
    expect(await found('美食 -餐饮')).toEqual(['park']);
  });
});
