import { QdrantStore, toQdrantFilter } from '../../src/store/qdrantStore';
import { vectorStoreContract } from './contract';

const url = process.env.QDRANT_URL;

if (url) {
  vectorStoreContract(`Qdrant at ${url}`, {
    open: async () =>
      new QdrantStore({ url, apiKey: process.env.QDRANT_API_KEY, m: 16, efConstruction: 100, efSearch: 128, upsertBatch: 64, timeoutMs: 10_000 }),
  });
} else {
  test.skip('VectorStore contract against Qdrant (set QDRANT_URL to run it)', () => undefined);
}

describe('Qdrant filter translation', () => {
  test('maps every filter field onto Qdrant conditions', () => {
    expect(toQdrantFilter({ owner: 'a', album: 'b', takenFrom: 1, takenTo: 2, excludeIds: ['x'] })).toEqual({
      must: [
        { key: 'owner', match: { value: 'a' } },
        { key: 'albums', match: { value: 'b' } },
        { key: 'takenAt', range: { gte: 1, lte: 2 } },
      ],
      must_not: [{ has_id: ['x'] }],
    });
    expect(toQdrantFilter({ owner: ['a', ''] })).toEqual({ must: [{ key: 'owner', match: { any: ['a', ''] } }], must_not: [] });
    expect(toQdrantFilter({ favorite: true, tags: ['猫', '家'], excludeHidden: true, excludeArchived: true })).toEqual({
      must: [
        { key: 'favorite', match: { value: true } },
        { key: 'tags', match: { value: '猫' } },
        { key: 'tags', match: { value: '家' } },
      ],
      must_not: [
        { key: 'hidden', match: { value: true } },
        { key: 'archived', match: { value: true } },
      ],
    });
    expect(toQdrantFilter({})).toBeUndefined();
    expect(toQdrantFilter(undefined)).toBeUndefined();
  });
});
