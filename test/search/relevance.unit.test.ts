import { GOOD_MATCH, lexicalRelevance, RelevanceCalibration, semanticRelevance } from '../../src/search/relevance';
import type { ModelInUse } from '../../src/packs/activeModel';
import type { ModelPack } from '../../src/models/modelPack';

const unit = (...xs: number[]) => {
  const n = Math.hypot(...xs);
  return Float32Array.from(xs.map((x) => x / n));
};

describe('relevance: how far a score stands above what unrelated pairs score', () => {
  test('0.5 at three standard deviations above the null mean, rising with the cosine; the whole query printed is near 1', () => {
    const d = { mean: 0.2, std: 0.03, pairs: 1000 };
    expect(semanticRelevance(0.29, d)).toBeCloseTo(GOOD_MATCH, 3);
    expect(semanticRelevance(0.2, d)).toBeLessThan(0.05);
    expect(semanticRelevance(0.35, d)).toBeGreaterThan(0.9); // five standard deviations
    const cosines = [0.1, 0.2, 0.25, 0.29, 0.3, 0.4];
    const r = cosines.map((c) => semanticRelevance(c, d));
    expect([...r].sort((a, b) => a - b)).toEqual(r);
    // Unknown distribution (a library of one image): the cosine itself, within 0..1.
    expect(semanticRelevance(1.2, null)).toBe(1);
    expect(semanticRelevance(-0.1, null)).toBe(0);
    expect(lexicalRelevance({ phrase: true, share: 1 })).toBeGreaterThan(0.95);
    expect(lexicalRelevance({ phrase: false, share: 2 / 3 })).toBeCloseTo(0.7, 3);
    expect(lexicalRelevance({ phrase: false, share: 1 })).toBeLessThan(lexicalRelevance({ phrase: true, share: 1 }));
  });

  test('learns the null distributions from the library, again only for a new pack or a library that has doubled', async () => {
    const texts = Float32Array.from([...unit(1, 0, 0), ...unit(0, 1, 0), ...unit(0, 0, 1)]);
    let library = [unit(1, 0, 0), unit(0, 1, 0)];
    let sampled = 0;
    let encoded = 0;
    let ready = false;
    const calibration = new RelevanceCalibration(
      {
        sampleImages: () => (sampled++, Promise.resolve(library)),
        textVectors: () => (encoded++, Promise.resolve({ dim: 3, vectors: texts })),
        textVectorsReady: () => ready,
      },
      0,
    );
    const model = (key: string) => ({ pack: { key } as ModelPack }) as ModelInUse;
    // The vocabulary is not encoded yet: no search waits for it; it is started, and relevance is uncalibrated meanwhile.
    expect(await calibration.scale(model('a@1'))).toBeNull();
    expect([encoded, sampled]).toEqual([1, 0]);
    ready = true;
    encoded = 0;
    const first = (await calibration.scale(model('a@1')))!;
    // Two images × three texts: cosines 1, 0, 0, 0, 1, 0.
    expect(first.text).toEqual({ mean: 2 / 6, std: expect.closeTo(Math.sqrt(2 / 6 - 1 / 9), 6), pairs: 6 });
    expect(first.image).toBeNull(); // one pair of images is too few
    await calibration.scale(model('a@1'));
    expect(encoded).toBe(1);
    library = [...library, unit(0, 0, 1), unit(1, 1, 0)];
    expect((await calibration.scale(model('a@1')))!.text.pairs).toBe(12);
    await calibration.scale(model('b@1'));
    expect(encoded).toBe(3);
    expect(sampled).toBe(4);
    library = [];
    expect(await calibration.scale(model('c@1'))).toBeNull();
  });
});
