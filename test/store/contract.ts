import { randomUUID } from 'node:crypto';
import { dot } from '../../src/models/vectorMath';
import { VectorStoreError, type PointFilter, type PointPayload, type VectorCollection, type VectorPoint, type VectorStore } from '../../src/store/vectorStore';
import { ids, randomUnitVector, seededRandom } from '../helpers/vectors';

export interface StoreHarness {
  open(): Promise<VectorStore>;
}

const DIM = 16;

function unit(...xs: number[]): Float32Array {
  const v = new Float32Array(DIM);
  xs.forEach((x, i) => (v[i] = x));
  const n = Math.sqrt(dot(v, v));
  return v.map((x) => x / n);
}

/** Every VectorStore adapter must pass this suite unchanged. */
export function vectorStoreContract(label: string, harness: StoreHarness): void {
  describe(`VectorStore contract: ${label}`, () => {
    let store: VectorStore;
    let col: VectorCollection;

    beforeEach(async () => {
      store = await harness.open();
      col = await store.collection(`contract_${randomUUID().slice(0, 8)}`, DIM);
    });
    afterEach(async () => {
      await store.close();
    });

    const point = (id: string, vector: Float32Array, owner = 'alice', albums: string[] = [], takenAt?: number): VectorPoint => ({
      id,
      vector,
      payload: { owner, albums, takenAt },
    });

    test('finds the nearest point first with cosine scores', async () => {
      const [a, b, c] = ids(3);
      await col.upsert([point(a!, unit(1, 0)), point(b!, unit(0, 1)), point(c!, unit(1, 1))]);
      const hits = await col.search({ vector: unit(1, 0.1), limit: 3 });
      expect(hits.map((h) => h.id)).toEqual([a, c, b]);
      expect(hits[0]!.score).toBeCloseTo(dot(unit(1, 0.1), unit(1, 0)), 4);
      expect(hits[0]!.payload).toEqual({ owner: 'alice', albums: [], takenAt: undefined });
    });

    test('upsert is idempotent and replaces vector and payload', async () => {
      const [a] = ids(1);
      await col.upsert([point(a!, unit(1, 0))]);
      await col.upsert([point(a!, unit(1, 0))]);
      expect(await col.count()).toBe(1);
      expect((await col.search({ vector: unit(0, 1), limit: 1, filter: { owner: 'alice' } }))[0]!.score).toBeCloseTo(0, 4);
      await col.upsert([point(a!, unit(0, 1), 'alice', ['trip'])]);
      expect(await col.count()).toBe(1);
      const [got] = await col.retrieve([a!]);
      expect(Array.from(got!.vector).map((x) => Number(x.toFixed(5)))).toEqual(Array.from(unit(0, 1)).map((x) => Number(x.toFixed(5))));
      expect(got!.payload.albums).toEqual(['trip']);
      // A search filtered to the owner (answered exactly by the embedded index) scores the new vector, not a remembered one.
      const [hit] = await col.search({ vector: unit(0, 1), limit: 1, filter: { owner: 'alice' } });
      expect(hit!.score).toBeCloseTo(1, 4);
    });

    test('setPayload replaces payloads, keeps vectors, moves a point to its new owner and adds no point', async () => {
      const [a, b, unknown] = ids(3);
      await col.upsert([point(a!, unit(1, 0), 'alice', ['trip']), point(b!, unit(0, 1), 'alice')]);
      await col.setPayload([
        { id: a!, payload: { owner: 'alice', albums: [], tags: ['海边'] } },
        { id: b!, payload: { owner: 'bob', albums: ['home'] } },
        { id: unknown!, payload: { owner: 'alice', albums: [] } },
      ]);
      expect(await col.count()).toBe(2);
      expect(await col.retrieve([unknown!])).toEqual([]);
      const [got] = await col.retrieve([a!]);
      expect(Array.from(got!.vector).map((x) => Number(x.toFixed(5)))).toEqual(Array.from(unit(1, 0)).map((x) => Number(x.toFixed(5))));
      expect(got!.payload).toMatchObject({ owner: 'alice', albums: [], tags: ['海边'] });
      const found = async (filter: PointFilter) => (await col.search({ vector: unit(1, 1), limit: 5, filter })).map((h) => h.id).sort();
      expect(await found({ owner: 'alice', album: 'trip' })).toEqual([]);
      expect(await found({ owner: 'alice', tags: ['海边'] })).toEqual([a]);
      expect(await found({ owner: 'alice' })).toEqual([a]);
      expect(await found({ owner: 'bob', album: 'home' })).toEqual([b]);
      expect(await col.count({ owner: 'bob' })).toBe(1);
      await expect(col.setPayload([])).resolves.toBeUndefined();
    });

    test('filters by favourite, tags, auto tags, hidden and archived', async () => {
      const [a, b, c, d] = ids(4);
      const flagged = (id: string, v: Float32Array, flags: Partial<PointPayload>): VectorPoint => ({
        id,
        vector: v,
        payload: { owner: 'erin', albums: [], ...flags },
      });
      await col.upsert([
        flagged(a!, unit(1, 0), { favorite: true, tags: ['猫', '家'] }),
        flagged(b!, unit(1, 0.05), { hidden: true, tags: ['猫'] }),
        flagged(c!, unit(1, 0.1), { archived: true, favorite: true, autoTags: ['海边', '猫'] }),
        flagged(d!, unit(1, 0.2), {}),
      ]);
      const q = unit(1, 0);
      const ids_ = async (filter: PointFilter) => (await col.search({ vector: q, limit: 10, filter: { owner: 'erin', ...filter } })).map((h) => h.id);
      expect(await ids_({ favorite: true })).toEqual([a, c]);
      expect(await ids_({ favorite: false })).toEqual([b, d]);
      expect(await ids_({ tags: ['猫'] })).toEqual([a, b]);
      expect(await ids_({ tags: ['猫', '家'] })).toEqual([a]);
      // The pack's tags are their own field: a user's tag 猫 is not an auto tag 猫.
      expect(await ids_({ autoTags: ['猫'] })).toEqual([c]);
      expect(await ids_({ autoTags: ['猫', '海边'], tags: ['猫'] })).toEqual([]);
      expect(await ids_({ excludeHidden: true, excludeArchived: true })).toEqual([a, d]);
      expect(await ids_({ excludeHidden: true, tags: ['猫'] })).toEqual([a]);
      const [back] = await col.retrieve([a!]);
      expect(back!.payload).toMatchObject({ favorite: true, tags: ['猫', '家'] });
    });

    test('filters by camera, media type, distance and box (across the antimeridian too)', async () => {
      const [beijing, tianjin, shanghai, fiji, nowhere] = ids(5);
      const at = (id: string, v: Float32Array, extra: Partial<PointPayload>): VectorPoint => ({
        id,
        vector: v,
        payload: { owner: 'gus', albums: [], ...extra },
      });
      await col.upsert([
        at(beijing!, unit(1, 0), { camera: 'Apple iPhone 15 Pro', location: { lat: 39.9042, lon: 116.4074 } }),
        at(tianjin!, unit(1, 0.05), { camera: 'Canon EOS R5', location: { lat: 39.3434, lon: 117.3616 } }),
        at(shanghai!, unit(1, 0.1), {
          camera: 'Apple iPhone 15 Pro',
          location: { lat: 31.2304, lon: 121.4737 },
          mediaType: 'video',
          segment: { asset: beijing!, index: 3, startMs: 4000, endMs: 6500 },
        }),
        at(fiji!, unit(1, 0.15), { location: { lat: -17.7134, lon: 178.065 } }),
        at(nowhere!, unit(1, 0.2), {}),
      ]);
      const q = unit(1, 0);
      const ids_ = async (filter: PointFilter) => (await col.search({ vector: q, limit: 10, filter: { owner: 'gus', ...filter } })).map((h) => h.id);
      expect(await ids_({ camera: 'Apple iPhone 15 Pro' })).toEqual([beijing, shanghai]);
      expect(await ids_({ mediaType: 'video' })).toEqual([shanghai]);
      expect(await ids_({ mediaType: 'image' })).toEqual([beijing, tianjin, fiji, nowhere]);
      // Beijing to Tianjin is about 110 km.
      expect(await ids_({ near: { lat: 39.9042, lon: 116.4074, radiusKm: 50 } })).toEqual([beijing]);
      expect(await ids_({ near: { lat: 39.9042, lon: 116.4074, radiusKm: 150 } })).toEqual([beijing, tianjin]);
      expect(await ids_({ within: { south: 30, west: 115, north: 40, east: 122 } })).toEqual([beijing, tianjin, shanghai]);
      expect(await ids_({ within: { south: -20, west: 170, north: -10, east: -170 } })).toEqual([fiji]);
      const [back] = await col.retrieve([beijing!]);
      expect(back!.payload).toMatchObject({ camera: 'Apple iPhone 15 Pro', location: { lat: 39.9042, lon: 116.4074 } });
      expect(back!.payload.segment).toBeUndefined();
      // A video frame's segment comes back from search and retrieve alike.
      const segment = { asset: beijing, index: 3, startMs: 4000, endMs: 6500 };
      expect((await col.search({ vector: unit(1, 0.1), limit: 1, filter: { owner: 'gus', mediaType: 'video' } }))[0]!.payload.segment).toEqual(segment);
      expect((await col.retrieve([shanghai!]))[0]!.payload.segment).toEqual(segment);
    });

    test('filters by owner, album, date range and excluded ids', async () => {
      const [a, b, c, d] = ids(4);
      await col.upsert([
        point(a!, unit(1, 0), 'alice', ['trip'], Date.UTC(2024, 0, 1)),
        point(b!, unit(1, 0.05), 'bob', ['trip'], Date.UTC(2024, 5, 1)),
        point(c!, unit(1, 0.1), 'alice', ['home'], Date.UTC(2025, 0, 1)),
        point(d!, unit(1, 0.2), 'alice', [], undefined),
      ]);
      const q = unit(1, 0);
      const byOwner = await col.search({ vector: q, limit: 10, filter: { owner: 'bob' } });
      expect(byOwner.map((h) => h.id)).toEqual([b]);
      const byAlbum = await col.search({ vector: q, limit: 10, filter: { owner: 'alice', album: 'trip' } });
      expect(byAlbum.map((h) => h.id)).toEqual([a]);
      const byDate = await col.search({ vector: q, limit: 10, filter: { owner: 'alice', takenFrom: Date.UTC(2024, 6, 1), takenTo: Date.UTC(2025, 6, 1) } });
      expect(byDate.map((h) => h.id)).toEqual([c]);
      const excluded = await col.search({ vector: q, limit: 10, filter: { owner: 'alice', excludeIds: [a!] } });
      expect(excluded.map((h) => h.id)).toEqual([c, d]);
      const either = await col.search({ vector: q, limit: 10, filter: { owner: ['bob', 'carol'] } });
      expect(either.map((h) => h.id)).toEqual([b]);
      expect(await col.count({ owner: ['alice', 'bob'] })).toBe(4);
      expect(await col.count({ owner: 'alice' })).toBe(3);
      expect(await col.count({ owner: 'nobody' })).toBe(0);
    });

    test('offset pages continue without overlap', async () => {
      const rand = seededRandom(7);
      const pts = ids(30).map((id) => point(id, randomUnitVector(DIM, rand)));
      await col.upsert(pts);
      const q = randomUnitVector(DIM, rand);
      const all = await col.search({ vector: q, limit: 20 });
      const page1 = await col.search({ vector: q, limit: 10, offset: 0 });
      const page2 = await col.search({ vector: q, limit: 10, offset: 10 });
      expect([...page1, ...page2].map((h) => h.id)).toEqual(all.map((h) => h.id));
      const scores = all.map((h) => h.score);
      expect([...scores].sort((x, y) => y - x)).toEqual(scores);
    });

    test('retrieve, delete, count and listIds agree', async () => {
      const all = ids(25);
      await col.upsert(all.map((id, i) => point(id, unit(1, i / 10))));
      expect(await col.retrieve([all[0]!, randomUUID()])).toHaveLength(1);
      const [first] = await col.retrieve([all[0]!]);
      expect(await col.payloads([all[0]!, randomUUID()])).toEqual(new Map([[all[0]!, first!.payload]]));
      await col.delete([all[0]!, all[1]!, randomUUID()]);
      expect(await col.count()).toBe(23);
      expect(await col.retrieve([all[0]!])).toEqual([]);
      expect(await col.payloads([all[0]!])).toEqual(new Map());
      const listed: string[] = [];
      for await (const page of col.listIds(7)) listed.push(...page);
      expect(listed.sort()).toEqual(all.slice(2).sort());
      const hits = await col.search({ vector: unit(1, 0), limit: 30 });
      expect(hits.map((h) => h.id)).not.toContain(all[0]);
      expect(hits).toHaveLength(23);
    });

    test('rejects vectors of the wrong dimension', async () => {
      await expect(col.upsert([point(randomUUID(), new Float32Array(DIM + 1).fill(1))])).rejects.toThrow(VectorStoreError);
      await expect(col.search({ vector: new Float32Array(3).fill(1), limit: 1 })).rejects.toThrow(VectorStoreError);
    });

    test('an empty collection or a zero limit returns nothing', async () => {
      expect(await col.search({ vector: unit(1), limit: 5 })).toEqual([]);
      await col.upsert([point(randomUUID(), unit(1))]);
      expect(await col.search({ vector: unit(1), limit: 0 })).toEqual([]);
    });

    test('approximate search agrees with exact search (recall@10 >= 0.95)', async () => {
      const rand = seededRandom(42);
      const pts = ids(3000).map((id, i) => point(id, randomUnitVector(DIM, rand), i % 2 ? 'alice' : 'bob', [], i));
      for (let i = 0; i < pts.length; i += 500) await col.upsert(pts.slice(i, i + 500));
      let found = 0;
      const queries = 40;
      for (let q = 0; q < queries; q++) {
        const v = randomUnitVector(DIM, rand);
        const exact = pts
          .map((p) => ({ id: p.id, s: dot(v, p.vector) }))
          .sort((x, y) => y.s - x.s)
          .slice(0, 10)
          .map((x) => x.id);
        const got = new Set((await col.search({ vector: v, limit: 10 })).map((h) => h.id));
        found += exact.filter((id) => got.has(id)).length;
      }
      expect(found / (queries * 10)).toBeGreaterThanOrEqual(0.95);
      // One owner's half of the collection, as every tenant's search asks: as good.
      let ownFound = 0;
      for (let q = 0; q < queries; q++) {
        const v = randomUnitVector(DIM, rand);
        const exact = pts
          .filter((p) => p.payload.owner === 'alice')
          .map((p) => ({ id: p.id, s: dot(v, p.vector) }))
          .sort((x, y) => y.s - x.s)
          .slice(0, 10)
          .map((x) => x.id);
        const got = await col.search({ vector: v, limit: 10, filter: { owner: 'alice', excludeHidden: true } });
        expect(got.every((h) => h.payload.owner === 'alice')).toBe(true);
        ownFound += exact.filter((id) => got.some((h) => h.id === id)).length;
      }
      expect(ownFound / (queries * 10)).toBeGreaterThanOrEqual(0.95);
      // A third of that owner's points by date, and a fiftieth: as good, and only points the filter keeps.
      for (const takenFrom of [2000, 2940]) {
        let keptFound = 0;
        for (let q = 0; q < queries; q++) {
          const v = randomUnitVector(DIM, rand);
          const exact = pts
            .filter((p) => p.payload.owner === 'alice' && p.payload.takenAt! >= takenFrom)
            .map((p) => ({ id: p.id, s: dot(v, p.vector) }))
            .sort((x, y) => y.s - x.s)
            .slice(0, 10)
            .map((x) => x.id);
          const got = await col.search({ vector: v, limit: 10, filter: { owner: 'alice', takenFrom } });
          expect(got.every((h) => h.payload.owner === 'alice' && h.payload.takenAt! >= takenFrom)).toBe(true);
          keptFound += exact.filter((id) => got.some((h) => h.id === id)).length;
        }
        expect(keptFound / (queries * 10)).toBeGreaterThanOrEqual(0.95);
      }
    });

    test('an owner whose points are nearly all hidden still gets the visible ones, nearest first', async () => {
      const rand = seededRandom(7);
      const pts = ids(1200).map((id, i) => ({
        id,
        vector: randomUnitVector(DIM, rand),
        payload: { owner: i % 2 ? 'alice' : 'bob', albums: [], hidden: i % 2 === 1 && i > 12 },
      }));
      await col.upsert(pts);
      const v = randomUnitVector(DIM, rand);
      const visible = pts.filter((p) => p.payload.owner === 'alice' && !p.payload.hidden);
      const got = await col.search({ vector: v, limit: 10, filter: { owner: 'alice', excludeHidden: true } });
      expect(got.map((h) => h.id)).toEqual(
        visible
          .map((p) => ({ id: p.id, s: dot(v, p.vector) }))
          .sort((x, y) => y.s - x.s)
          .map((x) => x.id),
      );
    });
  });
}
