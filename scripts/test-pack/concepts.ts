/**
 * The concepts the generated test pack "understands": each colour has an RGB prototype and
 * the words (Chinese and English) that name it. Tests draw images in these colours and
 * query with these words, so retrieval results can be asserted exactly.
 */
export interface ColourConcept {
  key: string;
  rgb: readonly [number, number, number];
  words: readonly string[];
}

export const COLOURS: readonly ColourConcept[] = [
  { key: 'red', rgb: [220, 30, 30], words: ['红', 'red'] },
  { key: 'green', rgb: [30, 190, 40], words: ['绿', 'green'] },
  { key: 'blue', rgb: [30, 40, 220], words: ['蓝', 'blue'] },
  { key: 'yellow', rgb: [240, 225, 30], words: ['黄', 'yellow'] },
  { key: 'white', rgb: [245, 245, 245], words: ['白', 'white'] },
  { key: 'black', rgb: [12, 12, 12], words: ['黑', 'black'] },
  { key: 'orange', rgb: [255, 140, 0], words: ['橙', '橘', 'orange'] },
  { key: 'purple', rgb: [140, 30, 190], words: ['紫', 'purple'] },
];

/** Common characters so that ordinary Chinese sentences tokenise into known pieces. */
export const FILLER_CHARS = [...'色的花车汽天空海苹果一辆只朵张片个大小照图像猫狗树叶山水和在是衣服裙子房屋门窗日落夜晚雪草地鸟鱼书桌椅杯子球'];
