import { LabelTable } from '../../src/store/labelTable';

describe('values by index label', () => {
  test('holds values at any label, counts them, forgets deleted ones and lists the rest by label', () => {
    const t = new LabelTable<string>();
    t.set(5, 'five');
    t.set(0, 'zero');
    t.set(200_000, 'far');
    t.set(5, 'FIVE');
    expect(t.size).toBe(3);
    expect(t.get(5)).toBe('FIVE');
    expect(t.has(3)).toBe(false);
    expect(t.get(400_000)).toBeUndefined();
    t.delete(0);
    t.delete(0);
    t.delete(7);
    expect(t.size).toBe(2);
    expect([...t.keys()]).toEqual([5, 200_000]);
    expect([...t.entries()]).toEqual([
      [5, 'FIVE'],
      [200_000, 'far'],
    ]);
  });
});
