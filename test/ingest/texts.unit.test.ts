import { parseTextFile } from '../../src/cli/texts';

describe('texts CLI input', () => {
  test('plain files are one text per line, shared unless an owner is given', () => {
    expect(parseTextFile('a.txt', '红色的花\n\n  蓝色的海  \n', undefined)).toEqual([{ text: '红色的花' }, { text: '蓝色的海' }]);
    expect(parseTextFile('a.txt', '红色的花', 'alice')).toEqual([{ text: '红色的花', owner: 'alice' }]);
  });

  test('JSON lines carry ids and owners; invalid lines are refused', () => {
    expect(parseTextFile('a.jsonl', '{"id":"p1","text":"绿色的草地","owner":"bob"}\n{"text":"x"}', 'alice')).toEqual([
      { id: 'p1', text: '绿色的草地', owner: 'bob' },
      { text: 'x', owner: 'alice' },
    ]);
    expect(() => parseTextFile('a.jsonl', '{"text":""}', undefined)).toThrow();
    expect(() => parseTextFile('a.jsonl', '{"txt":"x"}', undefined)).toThrow();
  });
});
