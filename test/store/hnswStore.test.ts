import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFile, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { dot } from '../../src/models/vectorMath';
import { DEFAULT_HNSW, HnswStore, walksThrough } from '../../src/store/hnswStore';
import type { VectorPoint } from '../../src/store/vectorStore';
import { tempDir } from '../helpers/env';
import { randomUnitVector, seededRandom } from '../helpers/vectors';
import { vectorStoreContract } from './contract';

vectorStoreContract('embedded HNSW', { open: async () => new HnswStore(await tempDir('hnsw')) });

// Small thresholds push the same contract through the HNSW-with-filter path and through snapshots.
vectorStoreContract('embedded HNSW, graph search under filters, frequent snapshots', {
  open: async () => new HnswStore(await tempDir('hnsw'), { ...DEFAULT_HNSW, exactSearchThreshold: 0, snapshotEvery: 2 }),
});

describe('embedded HNSW persistence', () => {
  const rand = seededRandom(3);
  const vec = () => randomUnitVector(8, rand);

  test('reopening restores points, payloads and deletions', async () => {
    const dir = await tempDir('hnsw-persist');
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    const va = vec();
    let store = new HnswStore(dir);
    let col = await store.collection('c', 8);
    await col.upsert([
      { id: a, vector: va, payload: { owner: 'o', albums: ['x'], takenAt: 5 } },
      { id: b, vector: vec(), payload: { owner: 'o', albums: [] } },
      { id: c, vector: vec(), payload: { owner: 'p', albums: [] } },
    ]);
    await col.delete([b]);
    await store.close();

    store = new HnswStore(dir);
    col = await store.collection('c', 8);
    expect(await col.count()).toBe(2);
    const [hit] = await col.search({ vector: va, limit: 1, filter: { owner: 'o' } });
    expect(hit).toMatchObject({ id: a, payload: { owner: 'o', albums: ['x'], takenAt: 5 } });
    expect(hit!.score).toBeCloseTo(1, 5);
    await store.close();
  });

  test('writes acknowledged before a crash (an upsert, a payload) survive it; a torn last log line is ignored', async () => {
    const dir = await tempDir('hnsw-crash');
    const id = randomUUID();
    const v = vec();
    // A real crash: a process acknowledges the write, then exits without close() (no snapshot), leaving its
    // lock file behind; a half-written record is appended after it.
    execFileSync(process.execPath, ['--require', require.resolve('tsx/cjs'), '-e', CRASHING_WRITER, dir, id, JSON.stringify(Array.from(v))]);
    const wal = (await readdir(path.join(dir, 'c'))).find((f) => f.startsWith('wal-'))!;
    await appendFile(path.join(dir, 'c', wal), '{"op":"upsert","points":[{"id":"');
    const reopened = new HnswStore(dir);
    const col = await reopened.collection('c', 8);
    expect((await col.search({ vector: v, limit: 1 }))[0]).toMatchObject({ id, payload: { albums: ['later'] } });
    await reopened.close();
  });

  test('a second process cannot open a locked index', async () => {
    const dir = await tempDir('hnsw-lock');
    const store = new HnswStore(dir);
    // Same pid holds it, and a live holder is never taken over.
    expect(() => new HnswStore(dir)).toThrow(/held by process/);
    await store.close();
    await new HnswStore(dir).close();
  });

  test('a write past what the int8 memory holds is refused before it is logged, and the store opens again whole', async () => {
    const dir = await tempDir('hnsw-full');
    // 8-d rows take 16 bytes, and a search scoring all of them 8 more each, past a 32-byte query: 10 rows fit.
    const settings = { ...DEFAULT_HNSW, int8MemoryBytes: 32 + 10 * 24 };
    const ids = Array.from({ length: 12 }, () => randomUUID());
    const vectors = ids.map(() => vec());
    const point = (i: number): VectorPoint => ({ id: ids[i]!, vector: vectors[i]!, payload: { owner: 'o', albums: [] } });
    let store = new HnswStore(dir, settings);
    let col = await store.collection('c', 8);
    await col.upsert([0, 1, 2, 3, 4, 5, 6, 7].map(point));
    await expect(col.upsert([8, 9, 10].map(point))).rejects.toMatchObject({ code: 'vector_store_full', status: 507 });
    // The same new id twice takes one row; a replacement takes none.
    await col.upsert([point(8), point(8), { ...point(0), vector: vectors[11]! }]);
    await col.upsert([point(9)]);
    await expect(col.upsert([point(10)])).rejects.toMatchObject({ code: 'vector_store_full' });
    await col.delete([ids[1]!]);
    await col.upsert([point(10)]);
    await store.close();

    store = new HnswStore(dir, settings);
    col = await store.collection('c', 8);
    expect(await col.count()).toBe(10);
    const found = async (v: Float32Array) => (await col.search({ vector: v, limit: 1 }))[0]?.id;
    expect(await found(vectors[11]!)).toBe(ids[0]);
    expect(await found(vectors[10]!)).toBe(ids[10]);
    expect(await found(vectors[1]!)).not.toBe(ids[1]);
    await expect(col.upsert([point(11)])).rejects.toMatchObject({ code: 'vector_store_full' });
    await store.close();
  });

  test('a collection keeps its dimension', async () => {
    const dir = await tempDir('hnsw-dim');
    let store = new HnswStore(dir);
    await (await store.collection('c', 8)).upsert([{ id: randomUUID(), vector: vec(), payload: { owner: 'o', albums: [] } }]);
    await store.close();
    store = new HnswStore(dir);
    await expect(store.collection('c', 16)).rejects.toThrow(/8-d/);
    await store.close();
  });
});

describe('embedded HNSW under a filter that keeps a small share of the graph', () => {
  const DIM = 64;
  const rand = seededRandom(5);
  // Tight clusters: a query's nearest points differ by less than int8 scores err, so only the exact re-scoring
  // of the candidates gets their order right.
  const centres = Array.from({ length: 12 }, () => randomUnitVector(DIM, rand));
  const near = (c: Float32Array) => {
    const v = c.map((x) => x + (rand() - 0.5) * 0.02);
    const n = Math.sqrt(dot(v, v));
    return v.map((x) => x / n);
  };
  const points: VectorPoint[] = Array.from({ length: 6000 }, (_, i) => ({
    id: randomUUID(),
    vector: near(centres[i % centres.length]!),
    payload: { owner: i % 24 === 0 ? 'small' : 'big', albums: i % 48 === 0 ? ['few'] : [] },
  }));
  const exactly = (q: Float32Array, keep: (p: VectorPoint) => boolean) =>
    points
      .filter(keep)
      .map((p) => ({ id: p.id, score: dot(q, p.vector) }))
      .sort((a, b) => b.score - a.score);

  test('the store walks only filters keeping a large share of the whole graph', () => {
    expect(walksThrough(10_000, 1_000_000, DEFAULT_HNSW)).toBe(false); // one owner of 100 among 1M: scored
    expect(walksThrough(60_000, 1_000_000, DEFAULT_HNSW)).toBe(true);
    expect(walksThrough(4000, 10_000, DEFAULT_HNSW)).toBe(false); // few enough to score, whatever the share
    expect(walksThrough(30_000, 100_000, DEFAULT_HNSW)).toBe(true);
  });

  test('an owner of 4 % of the graph, above the exact-search threshold, gets the exact answer; so do its pages and a reopened store', async () => {
    const dir = await tempDir('hnsw-share');
    const settings = { ...DEFAULT_HNSW, exactSearchThreshold: 100 };
    let store = new HnswStore(dir, settings);
    let col = await store.collection('c', DIM);
    for (let i = 0; i < points.length; i += 1000) await col.upsert(points.slice(i, i + 1000));
    const queries = Array.from({ length: 10 }, (_, i) => near(centres[i]!));
    const check = async () => {
      for (const q of queries) {
        const want = exactly(q, (p) => p.payload.owner === 'small');
        const got = await col.search({ vector: q, limit: 10, filter: { owner: 'small' } });
        expect(got.map((h) => h.id)).toEqual(want.slice(0, 10).map((h) => h.id));
        got.forEach((h, i) => expect(h.score).toBeCloseTo(want[i]!.score, 5));
        const page = await col.search({ vector: q, limit: 10, offset: 30, filter: { owner: 'small' } });
        expect(page.map((h) => h.id)).toEqual(want.slice(30, 40).map((h) => h.id));
        const album = await col.search({ vector: q, limit: 5, filter: { album: 'few' } });
        expect(album.map((h) => h.id)).toEqual(
          exactly(q, (p) => p.payload.albums.includes('few'))
            .slice(0, 5)
            .map((h) => h.id),
        );
      }
    };
    await check();
    // Replaced and deleted points: their int8 copies follow.
    const moved = points.find((p) => p.payload.owner === 'small')!;
    moved.vector = near(centres[3]!);
    await col.upsert([moved]);
    const gone = points.splice(
      points.findIndex((p) => p.payload.owner === 'small' && p !== moved),
      1,
    );
    await col.delete(gone.map((p) => p.id));
    await check();
    await store.close();

    // The snapshot holds the int8 vectors (format 2); one from before them, or a damaged file, is made again.
    const snap = path.join(dir, 'c', `snap-${(await readFile(path.join(dir, 'c', 'CURRENT'), 'utf8')).trim()}`);
    const meta = JSON.parse(await readFile(path.join(snap, 'meta.json'), 'utf8')) as { format: number };
    expect(meta.format).toBe(2);
    store = new HnswStore(dir, settings);
    col = await store.collection('c', DIM);
    await check();
    await store.close();
    await truncate(path.join(snap, 'quantized.bin'), 100);
    store = new HnswStore(dir, settings);
    col = await store.collection('c', DIM);
    await check();
    await store.close();
    const current = async () => path.join(dir, 'c', `snap-${(await readFile(path.join(dir, 'c', 'CURRENT'), 'utf8')).trim()}`);
    const fresh = await current();
    expect(fresh).not.toBe(snap); // made again at open, kept at close
    await rm(path.join(fresh, 'quantized.bin'));
    const freshMeta = JSON.parse(await readFile(path.join(fresh, 'meta.json'), 'utf8')) as { format: number };
    await writeFile(path.join(fresh, 'meta.json'), JSON.stringify({ ...freshMeta, format: 1 }));
    store = new HnswStore(dir, settings);
    col = await store.collection('c', DIM);
    await check();
    await store.close();
    expect((await readdir(await current())).sort()).toEqual(['index.bin', 'meta.json', 'quantized.bin']);
  });
});

const CRASHING_WRITER = `
const { HnswStore } = require(${JSON.stringify(path.resolve(__dirname, '../../src/store/hnswStore'))});
const [dir, id, vector] = process.argv.slice(1);
new HnswStore(dir).collection('c', 8)
  .then(async (col) => {
    await col.upsert([{ id, vector: Float32Array.from(JSON.parse(vector)), payload: { owner: 'o', albums: [] } }]);
    await col.setPayload([{ id, payload: { owner: 'o', albums: ['later'] } }]);
  })
  .then(() => process.exit(0));
`;
