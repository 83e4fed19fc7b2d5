import { dot } from '../../src/models/vectorMath';
import { nthLargest, QuantizedVectors } from '../../src/store/quantizedVectors';
import { randomUnitVector, seededRandom } from '../helpers/vectors';

const DIM = 512;

describe('int8 vectors for scoring a filter', () => {
  const rand = seededRandom(11);
  const vectors = Array.from({ length: 300 }, () => randomUnitVector(DIM, rand));

  test('scores are cosines within 2e-3 of the float ones, whatever the stored vector length', () => {
    const q = new QuantizedVectors(DIM, 4);
    vectors.forEach((v, label) => q.set(label, label % 2 ? v.map((x) => x * 7.5) : v));
    const query = randomUnitVector(DIM, rand);
    const worst = Math.max(...vectors.map((v, label) => Math.abs(q.score(query, label) - dot(query, v))));
    expect(worst).toBeLessThan(2e-3);
    expect(q.size).toBe(300);
  });

  test('any length of vector is scored, up to sums that would overflow 32 bits if the query were not scaled to fit', () => {
    for (const dim of [3, 20, 1024, 4096]) {
      const q = new QuantizedVectors(dim, 1);
      // Every code ±127 and the query at its largest in every dimension: the largest sum a row can make.
      const flat = new Float32Array(dim).fill(1 / Math.sqrt(dim));
      const signs = flat.map((x, d) => (d % 3 ? x : -x));
      q.set(0, flat);
      q.set(1, signs);
      q.set(2, randomUnitVector(dim, rand));
      expect(q.score(flat, 0)).toBeCloseTo(1, 5);
      expect(q.score(signs, 1)).toBeCloseTo(1, 5);
      expect(q.score(flat, 1)).toBeCloseTo(dot(flat, signs), 5);
    }
  });

  test('mayBeBest keeps every label whose exact score is among the n best, and few more when scores spread', () => {
    const q = new QuantizedVectors(DIM);
    const labels = vectors.map((_, i) => i * 3);
    vectors.forEach((v, i) => q.set(labels[i]!, v));
    const exactBest = (query: Float32Array, among: readonly number[], n: number) =>
      [...among].sort((a, b) => dot(query, vectors[b / 3]!) - dot(query, vectors[a / 3]!)).slice(0, n);
    for (let i = 0; i < 20; i++) {
      // A query close to one stored vector: the rest score near zero, far apart from it.
      const query = vectors[i]!.map((x) => x + (rand() - 0.5) * 0.01);
      const kept = q.mayBeBest(query, labels, 1);
      expect(kept).toContain(exactBest(query, labels, 1)[0]);
      expect(kept.length).toBeLessThan(10);
    }
    expect(q.mayBeBest(vectors[0]!, labels.slice(0, 3), 10).sort()).toEqual(labels.slice(0, 3));

    // Near-duplicates: their exact scores differ by less than the int8 scores err, so all of them are kept.
    const centre = vectors[0]!;
    const dupes = Array.from({ length: 200 }, () => {
      const v = centre.map((x) => x + (rand() - 0.5) * 0.002);
      const norm = Math.sqrt(dot(v, v));
      return v.map((x) => x / norm);
    });
    const near = new QuantizedVectors(DIM);
    dupes.forEach((v, label) => near.set(label, v));
    const all = dupes.map((_, label) => label);
    for (let i = 0; i < 20; i++) {
      const query = randomUnitVector(DIM, rand);
      const want = [...all].sort((a, b) => dot(query, dupes[b]!) - dot(query, dupes[a]!)).slice(0, 10);
      const kept = new Set(near.mayBeBest(query, all, 10));
      expect(want.filter((l) => !kept.has(l))).toEqual([]);
    }
  });

  test('a deleted label frees its row for the next one, and a replaced vector is scored anew', () => {
    const q = new QuantizedVectors(DIM, 2);
    q.set(0, vectors[0]!);
    q.set(1, vectors[1]!);
    q.delete(0);
    expect(q.has(0)).toBe(false);
    q.set(5000, vectors[2]!);
    q.set(1, vectors[3]!);
    expect(q.size).toBe(2);
    expect(q.score(vectors[2]!, 5000)).toBeCloseTo(1, 2);
    expect(q.score(vectors[3]!, 1)).toBeCloseTo(1, 2);
  });

  test('rows stop where a search scoring all of them would outgrow the memory allowed, and deleted rows make room', () => {
    expect(new QuantizedVectors(DIM).maxRows).toBe(8_259_550); // 4 GiB, less a query, over 512 + 8 bytes a row
    const q = new QuantizedVectors(DIM, 1, 2 * 65536);
    expect(q.maxRows).toBe(250);
    const labels = vectors.slice(0, 250).map((v, label) => (q.set(label, v), label));
    expect(q.roomFor(1)).toBe(false);
    // Scoring every row fits past them: the scratch's reservation would throw if it did not.
    expect(q.mayBeBest(vectors[7]!, labels, 1)).toContain(7);
    expect(() => q.set(250, vectors[250]!)).toThrow(RangeError);
    expect(q.size).toBe(250);
    q.delete(3);
    expect(q.roomFor(1)).toBe(true);
    q.set(250, vectors[250]!);
    expect(q.mayBeBest(vectors[250]!, [...labels.filter((l) => l !== 3), 250], 1)).toContain(250);
  });

  test('serialize and load round-trip the rows of the labels given, in their order', () => {
    const q = new QuantizedVectors(DIM);
    vectors.slice(0, 20).forEach((v, label) => q.set(label + 100, v));
    const labels = [119, 100, 105];
    const copy = new QuantizedVectors(DIM, 1);
    // A buffer at an odd offset, as a slice of a larger file read can be.
    const bytes = q.serialize(labels);
    const unaligned = Buffer.concat([Buffer.from([0]), bytes]).subarray(1);
    expect(copy.load(unaligned, labels)).toBe(true);
    for (const label of labels) expect(copy.score(vectors[0]!, label)).toBe(q.score(vectors[0]!, label));
    expect(copy.has(101)).toBe(false);
    expect(new QuantizedVectors(DIM).load(bytes.subarray(1), labels)).toBe(false);
  });

  test('nthLargest finds the n-th largest value as a full sort does, ties and all', () => {
    for (const count of [1, 2, 10, 11, 1000]) {
      // Coarse values: many ties.
      const values = Float32Array.from({ length: count }, () => Math.round(rand() * 50) / 10 - 2);
      const sorted = [...values].sort((a, b) => b - a);
      for (const n of new Set([1, 2, 10, count].filter((m) => m <= count))) expect(nthLargest(values, n)).toBe(sorted[n - 1]);
    }
  });
});
