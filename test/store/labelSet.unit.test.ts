import { LabelSet } from '../../src/store/labelSet';

describe('LabelSet: a set of labels that can be sampled', () => {
  test('adds once, deletes by swapping the last label in, and keeps every other label', () => {
    const s = new LabelSet();
    for (const l of [5, 7, 9, 7, 11]) s.add(l);
    expect([s.size, [...s.values()]]).toEqual([4, [5, 7, 9, 11]]);
    s.delete(7);
    s.delete(42);
    expect([...s.values()].sort((a, b) => a - b)).toEqual([5, 9, 11]);
    s.delete(11);
    s.delete(5);
    s.add(3);
    expect([...s.values()].sort((a, b) => a - b)).toEqual([3, 9]);
  });

  test('samples draw only labels in the set, all of them when there are few', () => {
    const s = new LabelSet();
    for (let l = 0; l < 1000; l++) s.add(l);
    for (let l = 0; l < 1000; l += 2) s.delete(l);
    const drawn = s.sample(300);
    expect(drawn).toHaveLength(300);
    expect(drawn.every((l) => l % 2 === 1)).toBe(true);
    const few = new LabelSet();
    [1, 2, 3].forEach((l) => few.add(l));
    expect(few.sample(10).sort()).toEqual([1, 2, 3]);
  });
});
