import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_HNSW, HnswStore } from '../../src/store/hnswStore';
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

  test('writes acknowledged before a crash survive it; a torn last log line is ignored', async () => {
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
    expect((await col.search({ vector: v, limit: 1 }))[0]?.id).toBe(id);
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

const CRASHING_WRITER = `
const { HnswStore } = require(${JSON.stringify(path.resolve(__dirname, '../../src/store/hnswStore'))});
const [dir, id, vector] = process.argv.slice(1);
new HnswStore(dir).collection('c', 8)
  .then((col) => col.upsert([{ id, vector: Float32Array.from(JSON.parse(vector)), payload: { owner: 'o', albums: [] } }]))
  .then(() => process.exit(0));
`;
