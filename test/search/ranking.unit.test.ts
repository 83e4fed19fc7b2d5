import { bestStretches, groupByAsset } from '../../src/search/assetRanking';
import { fuse, linearFusion, reciprocalRankFusion } from '../../src/search/rankFusion';
import type { ScoredPoint } from '../../src/store/vectorStore';

const photo = (id: string, score: number): ScoredPoint => ({ id, score, payload: { owner: 'o', albums: [] } });
const frame = (id: string, asset: string, index: number, score: number): ScoredPoint => ({
  id,
  score,
  payload: { owner: 'o', albums: [], segment: { asset, index, startMs: index * 1000, endMs: index * 1000 + 1000 } },
});

describe('search ranking (no database, no model)', () => {
  test("a video's frames are one asset, ranked by its best frame, in the order of each asset's best point", () => {
    const groups = groupByAsset([frame('v2', 'v', 2, 0.9), photo('p', 0.8), frame('v5', 'v', 5, 0.7), photo('q', 0.6)]);
    expect(groups.map((g) => [g.asset, g.points.map((p) => p.id)])).toEqual([
      ['v', ['v2', 'v5']],
      ['p', ['p']],
      ['q', ['q']],
    ]);
  });

  test("a hit names the stretch that matched best, and the video's other stretches within the margin", () => {
    const [video] = groupByAsset([frame('v2', 'v', 2, 0.9), frame('v5', 'v', 5, 0.86), frame('v7', 'v', 7, 0.5)]);
    expect(bestStretches(video!, 0.05)).toEqual({
      score: 0.9,
      segment: { index: 2, startMs: 2000, endMs: 3000, score: 0.9 },
      otherSegments: [{ index: 5, startMs: 5000, endMs: 6000, score: 0.86 }],
    });
    expect(bestStretches(groupByAsset([photo('p', 0.8)])[0]!, 0.05)).toEqual({ score: 0.8 });
  });

  test('reciprocal rank fusion: found by both halves first, then by rank; ties by id, so pages are stable', () => {
    const fused = reciprocalRankFusion(
      [
        { id: 'a', score: 0.3 },
        { id: 'b', score: 0.2 },
      ],
      [
        { id: 'b', score: 5 },
        { id: 'c', score: 4 },
      ],
    );
    expect(fused.map((f) => f.id)).toEqual(['b', 'a', 'c']);
    expect(fused[0]).toEqual({ id: 'b', score: 1 / 62 + 1 / 61, semanticScore: 0.2, textScore: 5 });
    expect(reciprocalRankFusion([{ id: 'z', score: 1 }], [{ id: 'y', score: 1 }]).map((f) => f.id)).toEqual(['y', 'z']);
  });

  test('linear fusion mixes min-max normalised scores; fuse picks the method', () => {
    const semantic = [
      { id: 'a', score: 0.4 },
      { id: 'b', score: 0.2 },
    ];
    const text = [{ id: 'b', score: 9 }];
    // a is the best by meaning, b the only text match: an even mix ties them, and the tie goes to the smaller id.
    expect(linearFusion(semantic, text).map((f) => [f.id, f.score])).toEqual([
      ['a', 0.5],
      ['b', 0.5],
    ]);
    expect(fuse('linear', semantic, text)).toEqual(linearFusion(semantic, text));
    expect(fuse('rrf', semantic, text)).toEqual(reciprocalRankFusion(semantic, text));
  });
});
