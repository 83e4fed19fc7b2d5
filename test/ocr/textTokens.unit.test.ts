import { ctcDecode } from '../../src/ocr/ctcDecode';
import { textBoxes } from '../../src/ocr/textBoxes';
import { foldText, indexTokens, matchRanges, queryTokens } from '../../src/ocr/textTokens';
import { reciprocalRankFusion } from '../../src/search/rankFusion';

describe('OCR text: folding, tokens, decoding, boxes, fusion', () => {
  test('traditional, full-width and case fold to one form', () => {
    expect(foldText('臺北車站 發票')).toBe('台北车站 发票');
    expect(foldText('ＷｉＦｉ密码：１２３')).toBe('wifi密码:123');
  });

  test('a query is its character pairs, about two thirds of which a text must hold; particles are not counted; -word excludes', () => {
    const holds = (text: string, query: string) => {
      const indexed = new Set(indexTokens(text));
      const q = queryTokens(query);
      return q.terms.filter((t) => indexed.has(t)).length >= q.minMatch;
    };
    for (const q of ['西站', '北京西站', '站出口', '京西']) expect(holds('北京西站出口', q)).toBe(true);
    expect(queryTokens('口')).toMatchObject({ terms: ['口'], minMatch: 1 });
    expect(holds('北京西站出口', '上海站')).toBe(false);
    // Abbreviated, with a particle, reordered, partial.
    expect(queryTokens('浦东机场')).toMatchObject({ terms: ['浦东', '东机', '机场'], minMatch: 2 });
    expect(holds('上海浦东国际机场', '浦东机场')).toBe(true);
    expect(queryTokens('北京西站的出口')).toMatchObject({ terms: ['北京', '京西', '西站', '出口'], minMatch: 3 });
    expect(queryTokens('北京西站的出口').boost).toEqual(expect.arrayContaining(['站的', '的出']));
    expect(holds('北京西站出口', '北京西站的出口')).toBe(true);
    expect(holds('发票金额', '金额 发票')).toBe(true);
    expect(holds('酸辣土豆丝', '土豆丝')).toBe(true);
    expect(holds('宫保鸡丁', '麻婆豆腐')).toBe(false);
    expect(queryTokens('美食 -餐饮')).toMatchObject({ terms: ['美食'], excluded: ['餐饮'], phrase: '美食' });
    expect(indexTokens('Exit B2 出口')).toEqual(expect.arrayContaining(['exit', 'b2', '出口']));
    // Traditional queries meet simplified text.
    expect(queryTokens('發票').terms).toEqual(['发票']);
    expect(holds('ExitB2', 'exit')).toBe(true);
  });

  test('highlights point into the original line', () => {
    expect(matchRanges('北京西站出口', queryTokens('西站'))).toEqual([[2, 4]]);
    expect(matchRanges('發票金額：128元', queryTokens('金额 128'))).toEqual([
      [2, 4],
      [5, 8],
    ]);
  });

  test('CTC decoding merges repeats, drops blanks and averages kept probabilities', () => {
    // classes: blank, 甲, 乙; steps: 甲 甲 blank 甲 乙
    const p = (c: number, v: number) => [0, 1, 2].map((i) => (i === c ? v : (1 - v) / 2));
    const probs = Float32Array.from([...p(1, 0.9), ...p(1, 0.8), ...p(0, 0.9), ...p(1, 0.7), ...p(2, 0.6)]);
    const { text, confidence } = ctcDecode(probs, 5, 3, ['甲', '乙']);
    expect(text).toBe('甲甲乙');
    expect(confidence).toBeCloseTo((0.9 + 0.7 + 0.6) / 3, 5);
  });

  test('text regions become boxes in reading order; faint and tiny regions are dropped', () => {
    const w = 40;
    const h = 20;
    const prob = new Float32Array(w * h);
    const fill = (x0: number, y0: number, x1: number, y1: number, v: number) => {
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) prob[y * w + x] = v;
    };
    fill(22, 2, 36, 7, 0.9); // right, top line
    fill(2, 3, 16, 7, 0.95); // left, same line
    fill(2, 12, 30, 17, 0.8); // second line
    fill(35, 15, 37, 17, 0.9); // speck
    fill(5, 18, 20, 20, 0.35); // faint
    // Each box grows by area × 1.5 / perimeter: 2.3, 2.8 and 3.2 pixels here.
    const boxes = textBoxes(prob, w, h);
    expect(boxes.map((b) => [Math.round(b.left), Math.round(b.top)])).toEqual([
      [0, 1],
      [19, 0],
      [0, 9],
    ]);
  });

  test('reciprocal rank fusion rewards agreement and breaks ties by id', () => {
    const fused = reciprocalRankFusion(
      [
        { id: 'b', score: 0.9 },
        { id: 'a', score: 0.8 },
      ],
      [
        { id: 'a', score: 2 },
        { id: 'c', score: 1 },
      ],
    );
    expect(fused.map((f) => f.id)).toEqual(['a', 'b', 'c']);
    expect(fused[0]).toMatchObject({ semanticScore: 0.8, textScore: 2 });
    expect(fused[2]).toMatchObject({ semanticScore: null, textScore: 1 });
  });
});
