import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { onnx } from 'onnx-proto';
import { GraphBuilder } from '../../scripts/lib/onnxGraph';
import { tempDir } from '../helpers/env';
import { colourImage } from '../helpers/images';
import { textImage } from '../../bench/fixtures';
import { startTestService, waitForJob, type TestService } from '../helpers/service';

interface Hit {
  id: string;
  source: string;
  score: number;
  relevance: number;
  match: { semanticScore: number | null; textScore: number | null; matchedField: string | null; matchedText: string | null; highlights: [number, number][] };
}

const RECEIPT = ['老北京炸酱面馆', '发票金额：128元', '2024-05-01 12:30'];
const SIGN = ['北京西站出口', 'Exit B2'];
const SCREENSHOT = ['【银行】您的验证码是384912', '请勿泄露给他人'];

async function writeLibrary(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'receipt.png'), await textImage(RECEIPT, { width: 640, fontSize: 32 }));
  await writeFile(
    path.join(dir, 'sign.jpg'),
    await textImage(SIGN, { width: 900, fontSize: 64, background: '#0a4a8a', colour: 'white', format: 'jpeg', quality: 80 }),
  );
  await writeFile(path.join(dir, 'screenshot.png'), await textImage(SCREENSHOT, { width: 750, height: 400, fontSize: 30 }));
  for (const c of ['red', 'blue', 'green']) await writeFile(path.join(dir, `${c}.png`), await colourImage(c, { seed: 11 }));
}

/** OCR models that load but fail on every real image: their graphs accept only 32×32 inputs. */
async function brokenOcrModels(): Promise<string> {
  const dir = await tempDir('ocr-broken');
  for (const [file, out] of [
    ['ch_PP-OCRv4_det_infer.onnx', 'sigmoid_0.tmp_0'],
    ['ch_PP-OCRv4_rec_infer.onnx', 'softmax_11.tmp_0'],
  ] as const) {
    const g = new GraphBuilder('broken');
    const x = g.input('x', onnx.TensorProto.DataType.FLOAT, [1, 3, 32, 32]);
    g.op('Identity', [x], [], out);
    g.output(out, onnx.TensorProto.DataType.FLOAT, [1, 3, 32, 32]);
    await writeFile(path.join(dir, file), g.encode());
  }
  await writeFile(path.join(dir, 'ppocr_keys_v1.txt'), '甲\n乙\n');
  return dir;
}

describe('text in photos: real PP-OCRv4 at ingest, text and hybrid search', () => {
  let svc: TestService;
  const search = async (body: object) =>
    (await svc.api().post('/v1/search/text').send(body).expect(200)).body as { mode: string; hits: Hit[]; noGoodMatch: boolean };
  const name = (h: Hit) => path.basename(h.source);

  beforeAll(async () => {
    svc = await startTestService();
    await writeLibrary(path.join(svc.inbox, 'docs'));
    const res = await svc
      .api()
      .post('/v1/admin/ingest')
      .send({ owner: 'ann', folder: 'docs', albums: ['手机'] });
    const job = await waitForJob(svc, res.body.jobId);
    expect(job).toMatchObject({ state: 'completed', done: 6, ocr: { done: 6, failed: 0, pending: 0 } });
  });
  afterAll(async () => {
    await svc.close();
    await svc.database.drop();
  });

  test('the words in a receipt, a sign and a screenshot find them first, whole, in part, or in traditional characters', async () => {
    for (const [query, file] of [
      ['发票', 'receipt.png'],
      ['炸酱面', 'receipt.png'],
      ['發票金額', 'receipt.png'],
      ['西站', 'sign.jpg'],
      ['北京西站出口', 'sign.jpg'],
      ['exit', 'sign.jpg'],
      ['验证码', 'screenshot.png'],
      ['384912', 'screenshot.png'],
    ] as const) {
      const { hits } = await search({ query, mode: 'ocr', filters: { owner: 'ann' } });
      expect([query, name(hits[0]!)]).toEqual([query, file]);
    }
    const { hits } = await search({ query: '西站', mode: 'ocr', filters: { owner: 'ann' } });
    expect(hits).toHaveLength(1);
    expect(hits[0]!.match).toMatchObject({ matchedText: '北京西站出口', highlights: [[2, 4]], semanticScore: null });
    expect((await search({ query: '上海虹桥', mode: 'ocr', filters: { owner: 'ann' } })).hits).toEqual([]);
  });

  test('hybrid is the default: text matches and semantic matches come together, each saying why', async () => {
    const text = await search({ query: '验证码', filters: { owner: 'ann' } });
    expect(text.mode).toBe('hybrid');
    expect(name(text.hits[0]!)).toBe('screenshot.png');
    expect(text.hits[0]!.match.textScore).toBeGreaterThan(0);
    expect(text.hits[0]!.match.semanticScore).not.toBeNull();
    // The word printed in the photo makes it a good match whatever the meaning says.
    expect(text.hits[0]!.relevance).toBeGreaterThan(0.95);
    expect(text.noGoodMatch).toBe(false);
    // A colour word is printed nowhere: meaning ranks the red photo first, and its auto tags (not its printed text) match the word.
    const colour = await search({ query: '红色', filters: { owner: 'ann' } });
    expect(name(colour.hits[0]!)).toBe('red.png');
    expect(colour.hits[0]!.match).toMatchObject({ semanticScore: expect.any(Number), matchedField: 'tags', matchedText: expect.stringContaining('红色') });
    expect(colour.hits.filter((h) => h.match.matchedField === 'ocr')).toEqual([]);
    // Pages of the fused ranking neither repeat nor skip.
    const all = (await search({ query: '发票', filters: { owner: 'ann' }, limit: 6 })).hits.map((h) => h.id);
    // The page size does not change the ranking: a one-hit page is the first hit of a longer one.
    expect((await search({ query: '发票', filters: { owner: 'ann' }, limit: 1 })).hits.map((h) => h.id)).toEqual(all.slice(0, 1));
    const first = await svc
      .api()
      .post('/v1/search/text')
      .send({ query: '发票', filters: { owner: 'ann' }, limit: 2 });
    const second = await search({ query: '发票', filters: { owner: 'ann' }, limit: 2, cursor: first.body.nextCursor });
    expect([...first.body.hits, ...second.hits].map((h: Hit) => h.id)).toEqual(all.slice(0, 4));
  });

  test('owners and filters apply to the text half; the record carries the lines with boxes', async () => {
    expect((await search({ query: '发票', mode: 'ocr', filters: { owner: 'bob' } })).hits).toEqual([]);
    const { key } = await svc.services.keys.create('bob-app', 'bob', ['search']);
    const asBob = await svc.api(key).post('/v1/search/text').send({ query: '发票', mode: 'ocr' }).expect(200);
    expect(asBob.body.hits).toEqual([]);
    expect((await search({ query: '发票', mode: 'ocr', filters: { owner: 'ann', album: '别的' } })).hits).toEqual([]);
    expect((await search({ query: '发票', mode: 'ocr', filters: { owner: 'ann', album: '手机' } })).hits).toHaveLength(1);

    const sign = (await search({ query: '西站', mode: 'ocr', filters: { owner: 'ann' } })).hits[0]!;
    const record = (await svc.api().get(`/v1/images/${sign.id}`).expect(200)).body;
    expect(record.text.state).toBe('done');
    const line = record.text.lines.find((l: { text: string }) => l.text === '北京西站出口');
    expect(line.confidence).toBeGreaterThan(0.9);
    const [left, top, right, bottom] = line.box as [number, number, number, number];
    expect(left).toBeLessThan(60);
    expect(right).toBeGreaterThan(400);
    expect(top).toBeLessThan(bottom);
  });

  test('a deleted image is not found by its words', async () => {
    const receipt = (await search({ query: '发票', mode: 'ocr', filters: { owner: 'ann' } })).hits[0]!;
    await svc.api().delete(`/v1/images/${receipt.id}`).expect(200);
    expect((await search({ query: '发票', mode: 'ocr', filters: { owner: 'ann' } })).hits).toEqual([]);
    expect((await search({ query: '发票', filters: { owner: 'ann' } })).hits.map((h) => h.id)).not.toContain(receipt.id);
    expect(await svc.services.db.imageText.count({ where: { imageId: receipt.id } })).toBe(0);
  });
});

describe('OCR failures and backfill', () => {
  test('an image whose OCR fails is still ingested and found by meaning; the failure is recorded', async () => {
    const svc = await startTestService({ OCR_MODEL_DIR: await brokenOcrModels() });
    try {
      await mkdir(path.join(svc.inbox, 'x'));
      await writeFile(path.join(svc.inbox, 'x', 'blue.png'), await colourImage('blue', { seed: 2 }));
      const res = await svc.api().post('/v1/admin/ingest').send({ owner: 'cy', folder: 'x' });
      expect(await waitForJob(svc, res.body.jobId)).toMatchObject({ state: 'completed', done: 1, ocr: { failed: 1 } });
      const hit = (
        await svc
          .api()
          .post('/v1/search/text')
          .send({ query: '蓝色', filters: { owner: 'cy' } })
      ).body.hits[0];
      expect(path.basename(hit.source)).toBe('blue.png');
      const record = (await svc.api().get(`/v1/images/${hit.id}`)).body;
      expect(record.text).toMatchObject({ state: 'failed', lines: [] });
      expect(record.text.error).toMatch(/dimension|shape|invalid/i);
    } finally {
      await svc.close();
      await svc.database.drop();
    }
  });

  test("a database failure while storing the text is not the image's: it is read again, not marked failed (found by the crash soak)", async () => {
    const svc = await startTestService();
    try {
      const repo = svc.services.repos.ocr;
      const save = repo.save.bind(repo);
      let failures = 0;
      repo.save = async (...args) => {
        if (failures++ === 0) throw new Error("Can't reach database server at 127.0.0.1");
        return save(...args);
      };
      await mkdir(path.join(svc.inbox, 'y'));
      await writeFile(path.join(svc.inbox, 'y', 'receipt.png'), await textImage(RECEIPT, { width: 640, fontSize: 32 }));
      const res = await svc.api().post('/v1/admin/ingest').send({ owner: 'dy', folder: 'y' });
      expect(await waitForJob(svc, res.body.jobId)).toMatchObject({ state: 'completed', done: 1, ocr: { done: 1, failed: 0 } });
      expect(failures).toBe(2);
      const { hits } = (
        await svc
          .api()
          .post('/v1/search/text')
          .send({ query: '发票', mode: 'ocr', filters: { owner: 'dy' } })
      ).body;
      expect(path.basename(hits[0].source)).toBe('receipt.png');
    } finally {
      await svc.close();
      await svc.database.drop();
    }
  });

  test('images ingested while OCR was off are read by a backfill job', async () => {
    const off = await startTestService({ OCR: 'off' });
    await writeLibrary(path.join(off.inbox, 'docs'));
    const res = await off.api().post('/v1/admin/ingest').send({ owner: 'dee', folder: 'docs' });
    await waitForJob(off, res.body.jobId);
    const semanticOnly = await off
      .api()
      .post('/v1/search/text')
      .send({ query: '发票', filters: { owner: 'dee' } });
    expect(semanticOnly.body.mode).toBe('semantic');
    await off.close();

    const on = await startTestService({}, { database: off.database, dataDir: off.dataDir });
    try {
      const backfill = await on.api().post('/v1/admin/ocr/backfill').send({ owner: 'dee' }).expect(202);
      expect(await waitForJob(on, backfill.body.jobId)).toMatchObject({ state: 'completed', kind: 'ocr', done: 6 });
      const { hits } = (
        await on
          .api()
          .post('/v1/search/text')
          .send({ query: '发票', mode: 'ocr', filters: { owner: 'dee' } })
      ).body;
      expect(path.basename(hits[0].source)).toBe('receipt.png');
      expect((await on.api().post('/v1/admin/ocr/backfill').send({}).expect(200)).body).toEqual({ jobId: null, statusUrl: null });
    } finally {
      await on.close();
      await on.database.drop();
    }
  });
});
