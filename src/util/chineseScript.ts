import * as OpenCC from 'opencc-js';

export const CHINESE_SCRIPTS = ['simplified', 'traditional'] as const;
export type ChineseScript = (typeof CHINESE_SCRIPTS)[number];

const converters: Partial<Record<ChineseScript, (text: string) => string>> = {};

/** Chinese text in one script (OpenCC, phrase-aware): 貓 → 猫 for 'simplified'. Other text passes unchanged. */
export function toScript(script: ChineseScript, text: string): string {
  const convert = (converters[script] ??= OpenCC.Converter(script === 'simplified' ? { from: 't', to: 'cn' } : { from: 'cn', to: 't' }));
  return convert(text);
}
