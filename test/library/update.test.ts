import path from 'node:path';
import { payloadDrift, settlePayloads, syncChangedRow } from '../../src/library/payloadSync';
import { writeColourLibrary } from '../helpers/files';
import { startTestService, waitForJob, type TestService } from '../helpers/service';

interface Image {
  id: string;
  source: string;
  albums: string[];
  favorite: boolean;
  hidden: boolean;
  tags: string[];
  takenAt: string | null;
}

const idOf = (images: Image[], colour: string) => images.find((i) => path.basename(i.source).startsWith(`${colour}.`))!.id;

describe('changing images after ingest, and listing a library', () => {
  let svc: TestService;
  let all: Image[];
  beforeAll(async () => {
    svc = await startTestService();
    await writeColourLibrary(path.join(svc.inbox, 'a'));
    const res = await svc
      .api()
      .post('/v1/admin/ingest')
      .send({ owner: 'alice', folder: 'a', albums: ['原始'] });
    await waitForJob(svc, res.body.jobId);
    all = (await svc.api().get('/v1/images?owner=alice&limit=100').expect(200)).body.images as Image[];
  });
  afterAll(async () => {
    await svc.close();
    await svc.database.drop();
  });

  const search = async (filters: object, query = '一张照片') =>
    (
      (
        await svc
          .api()
          .post('/v1/search/text')
          .send({ query, limit: 20, filters: { owner: 'alice', ...filters } })
      ).body.hits as Image[]
    ).map((h) => h.id);

  test('PATCH changes albums, favourite, tags and capture time, and search filters follow at once', async () => {
    const red = idOf(all, 'red');
    const res = await svc
      .api()
      .patch(`/v1/images/${red}`)
      // Albums and tags are sets: a name given twice is kept once.
      .send({ albums: ['精选', ' 精选 '], favorite: true, tags: ['花', '春天', '花'], takenAt: '2024-05-01T08:00:00Z' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: red, albums: ['精选'], favorite: true, tags: ['花', '春天'], takenAt: '2024-05-01T08:00:00.000Z' });
    expect(await search({ favorite: true })).toEqual([red]);
    expect(await search({ album: '精选' })).toEqual([red]);
    expect(await search({ album: '原始' })).not.toContain(red);
    expect(await search({ tags: ['花'] })).toEqual([red]);
    expect(await search({ tags: ['花', '夏天'] })).toEqual([]);
    expect(await search({ takenFrom: '2024-04-01T00:00:00Z', takenTo: '2024-06-01T00:00:00Z' })).toEqual([red]);
    // A date is its whole day: 08:00 on 1 May is in [1 May, 1 May], not in [.., 30 April].
    expect(await search({ takenFrom: '2024-05-01', takenTo: '2024-05-01' })).toEqual([red]);
    expect(await search({ takenTo: '2024-04-30' })).not.toContain(red);
    const listed = (await svc.api().get('/v1/images?owner=alice&takenFrom=2024-05-01&takenTo=2024-05-01').expect(200)).body.images as Image[];
    expect(listed.map((i) => i.id)).toEqual([red]);
    // The vector payload changed with Postgres: the store's own filter agrees.
    expect((await svc.services.images.retrieve([red]))[0]!.payload).toMatchObject({ favorite: true, tags: ['花', '春天'], albums: ['精选'] });
  });

  describe("the blue photo's row and payload, written directly", () => {
    let blue: string;
    let collection: TestService['services']['images'];
    let db: TestService['services']['repos']['images'];
    beforeEach(() => {
      blue = idOf(all, 'blue');
      collection = svc.services.images;
      db = svc.services.repos.images;
    });
    // Cleared even after a failed test, so that no other test meets its tags.
    afterEach(async () => {
      await svc.api().patch(`/v1/images/${blue}`).send({ tags: [] }).expect(200);
    });

    test("a batch's late payload write, made from a row read before a change, is written again from the row", async () => {
      const [before] = await collection.retrieve([blue]);
      // Rows and payloads agree after ingest: a batch's own payloads are not written twice.
      expect(await settlePayloads(db, collection, new Map([[blue, before!.payload]]))).toEqual([]);
      // A change lands (row, then payload) while the batch encodes; then the batch writes what it read before it.
      await svc
        .api()
        .patch(`/v1/images/${blue}`)
        .send({ tags: ['海边'] })
        .expect(200);
      await collection.upsert([before!]);
      expect(await search({ tags: ['海边'] })).toEqual([]);
      expect(await settlePayloads(db, collection, new Map([[blue, before!.payload]]))).toEqual([blue]);
      expect(await search({ tags: ['海边'] })).toEqual([blue]);
    });

    test("two writers of one image whose payload writes come in the other order than their rows: the newer row's payload stays", async () => {
      // Auto tags write the row first; places (here a tag, as a PATCH does) write it after and push their payload first.
      const older = (await db.update({ id: blue }, 'alice', { tags: ['旧'] }))!;
      const newer = (await db.update({ id: blue }, 'alice', { tags: ['新'] }))!;
      await syncChangedRow(db, collection, newer);
      await syncChangedRow(db, collection, older);
      expect(await search({ tags: ['新'] })).toEqual([blue]);
      expect(await search({ tags: ['旧'] })).toEqual([]);
      expect(await db.payloadsToSync()).toEqual([]);
    });

    test('reconcile does not take a change its writer is still writing for drift; one a crash left is drift', async () => {
      // The row is written and marked; its payload comes 300 ms later, as a stage's would a moment after its row.
      const row = (await db.update({ id: blue }, 'alice', { tags: ['在写'] }))!;
      const writer = new Promise((r) => setTimeout(r, 300)).then(() => syncChangedRow(db, collection, row));
      expect(await payloadDrift(db, collection, false)).toEqual([]);
      await writer;
      expect(await search({ tags: ['在写'] })).toEqual([blue]);
      // Marked and never written (the writer crashed): drift, and the fix writes it.
      await db.update({ id: blue }, 'alice', { tags: ['崩溃'] });
      expect(await payloadDrift(db, collection, true)).toEqual([blue]);
      expect(await search({ tags: ['崩溃'] })).toEqual([blue]);
    });
  });

  test('hidden and archived images leave search and listings unless asked for', async () => {
    const blue = idOf(all, 'blue');
    const green = idOf(all, 'green');
    await svc.api().patch(`/v1/images/${blue}`).send({ hidden: true }).expect(200);
    await svc.api().patch(`/v1/images/${green}`).send({ archived: true }).expect(200);
    const found = await search({}, '蓝色');
    expect(found).not.toContain(blue);
    expect(found).not.toContain(green);
    expect(await search({ includeHidden: true }, '蓝色')).toContain(blue);
    const listed = (await svc.api().get('/v1/images?owner=alice&limit=100').expect(200)).body.images as Image[];
    expect(listed.map((i) => i.id)).not.toContain(blue);
    const withHidden = (await svc.api().get('/v1/images?owner=alice&limit=100&includeHidden=true&includeArchived=true').expect(200)).body.images as Image[];
    expect(withHidden).toHaveLength(all.length);
  });

  /** Every id a walk through the listing's pages sees, in order; `during` runs after each page. */
  const walk = async (query: string, during?: (page: number) => Promise<void>) => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; ; page++) {
      const url: string = `/v1/images?${query}${cursor ? `&cursor=${cursor}` : ''}`;
      const body = (await svc.api().get(url).expect(200)).body as { images: Image[]; nextCursor: string | null };
      seen.push(...body.images.map((i) => i.id));
      await during?.(page);
      if (!(cursor = body.nextCursor)) return seen;
    }
  };

  test('listing pages with a cursor in a stable order, newest capture first', async () => {
    const seen = await walk('owner=alice&limit=3&includeHidden=true&includeArchived=true');
    expect(seen).toHaveLength(all.length);
    expect(new Set(seen).size).toBe(all.length);
    // The only dated image (the red one, patched above) comes first.
    expect(seen[0]).toBe(idOf(all, 'red'));
  });

  describe('a library of 10 050 photos, walked page by page', () => {
    const N = 10_050;
    const base = Date.UTC(2024, 0, 1);
    // Every third capture time repeats and every seventh photo is undated: ties and nulls the order must settle.
    const takenAt = (i: number) => (i % 7 === 0 ? null : new Date(base + Math.floor(i / 3) * 60_000));
    /** An indexed photo's row, written straight to Postgres: the listing reads nothing else. */
    const photoRow = (id: string, source: string) => ({
      id,
      owner: 'deep',
      sha256: id.replace(/-/g, '').padEnd(64, '0'),
      sourceKind: 'folder' as const,
      source,
      mime: 'image/jpeg',
      width: 4,
      height: 3,
      bytes: 1,
      state: 'indexed' as const,
    });
    const ids = Array.from({ length: N }, (_, i) => `10000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    beforeAll(async () => {
      await svc.services.db.image.createMany({
        data: ids.map((id, i) => ({ ...photoRow(id, `/photos/${i}.jpg`), takenAt: takenAt(i) })),
      });
    });

    test('every photo once, newest capture first, undated last, past the 10 000 an offset reached', async () => {
      const expected = ids
        .map((id, i) => ({ id, t: takenAt(i)?.getTime() ?? -Infinity }))
        .sort((a, b) => b.t - a.t || (a.id < b.id ? -1 : 1))
        .map((r) => r.id);
      expect(await walk('owner=deep&sort=takenAt&limit=100')).toEqual(expected);
    });

    test('photos added and deleted while a product walks the pages shift nothing it has not seen', async () => {
      const added = '10000000-0000-4000-9000-000000000001';
      const gone = ids[N - 1]!;
      const seen = await walk('owner=deep&sort=ingestedAt&limit=100', async (page) => {
        if (page !== 3) return;
        // Newest of all, so it belongs before every page already read; and a photo not reached yet goes.
        await svc.services.db.image.create({
          data: { ...photoRow(added, '/photos/new.jpg'), ingestedAt: new Date(Date.now() + 60_000) },
        });
        await svc.api().delete(`/v1/images/${gone}?owner=deep`).expect(200);
      });
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.sort()).toEqual(ids.filter((id) => id !== gone).sort());
    });

    test('a cursor works only with the sort it was made for', async () => {
      const first = (await svc.api().get('/v1/images?owner=deep&limit=5').expect(200)).body as { nextCursor: string };
      const res = await svc.api().get(`/v1/images?owner=deep&limit=5&sort=ingestedAt&cursor=${first.nextCursor}`);
      expect([res.status, res.body.error.details[0].path, res.body.error.message]).toEqual([400, 'cursor', expect.stringContaining('sort=takenAt')]);
    });
  });

  test('bad changes are 400, unknown or foreign images 404', async () => {
    const red = idOf(all, 'red');
    expect((await svc.api().patch(`/v1/images/${red}`).send({})).body.error.message).toMatch(/nothing to change/);
    expect((await svc.api().patch(`/v1/images/${red}`).send({ favorite: 'yes' })).status).toBe(400);
    expect((await svc.api().patch(`/v1/images/${red}`).send({ owner: 'x' })).status).toBe(400);
    expect((await svc.api().patch(`/v1/images/${red}?owner=bob`).send({ favorite: false })).status).toBe(404);
    expect((await svc.api().patch('/v1/images/00000000-0000-4000-8000-000000000000').send({ favorite: true })).status).toBe(404);
    expect((await svc.api().get('/v1/images?owner=alice&sort=size')).status).toBe(400);
    expect((await svc.api().get('/v1/images?owner=alice&favorite=maybe')).status).toBe(400);
  });
});
