import { Jieba } from '@node-rs/jieba';
import { dict } from '@node-rs/jieba/dict';
import { toScript } from '../util/chineseScript';

/**
 * How OCR text is indexed and queried. Text is folded first (full-width to half-width and other
 * compatibility forms by NFKC, traditional to simplified characters, lower case), so 發票, 发票 and
 * ｆａｐｉａｏ-style full-width input meet. Runs of characters are indexed as single characters and
 * overlapping pairs (the CJK bigram scheme of Lucene's CJKAnalyzer), which lets any substring of two or
 * more characters match without relying on segmentation being right; that holds for Latin letters and
 * digits too, because OCR often drops the spaces between them (EXIT B2 is read as ExitB2). Whole words
 * and jieba's words are indexed as well and weigh in the ranking.
 */
let jieba: Jieba | null = null;
const segmenter = () => (jieba ??= Jieba.withDict(dict));

const CJK_RUN = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u{20000}-\u{2fa1f}]+/gu;
const WORD = /[\p{L}\p{N}]+/gu;

export function foldText(text: string): string {
  return toScript('simplified', text.normalize('NFKC')).toLowerCase();
}

function grams(run: string, unigrams: boolean): string[] {
  const chars = [...run];
  const out: string[] = unigrams || chars.length === 1 ? [...chars] : [];
  for (let i = 0; i + 1 < chars.length; i++) out.push(chars[i]! + chars[i + 1]!);
  return out;
}

/** Runs of Chinese characters, and runs of other letters and digits. */
function runs(folded: string): string[] {
  return [...(folded.match(CJK_RUN) ?? []), ...(folded.replace(CJK_RUN, ' ').match(WORD) ?? [])];
}

/** Segmented words of two or more characters (the ranking's word matches). */
export function words(folded: string): string[] {
  return segmenter()
    .cut(folded, false)
    .map((w) => w.trim())
    .filter((w) => [...w].length > 1 && /[\p{L}\p{N}]/u.test(w));
}

/** The tokens stored for a text: characters, character pairs, words. */
export function indexTokens(text: string): string[] {
  const folded = foldText(text);
  const tokens = new Set<string>();
  for (const run of runs(folded)) {
    for (const g of grams(run, true)) tokens.add(g);
    tokens.add(run);
  }
  for (const w of words(folded)) tokens.add(w);
  return [...tokens];
}

export interface TextQuery {
  /** The query's counted terms: character pairs of each run (a lone character stands for itself). */
  terms: string[];
  /** How many of `terms` a text must hold to match: about two thirds, like Elasticsearch's minimum_should_match. */
  minMatch: number;
  /** Terms that raise the rank when present and are never needed: pairs with a particle (站的), whole runs, jieba's words. */
  boost: string[];
  /** The folded query without spaces or exclusions: an exact (substring) match ranks first. */
  phrase: string;
  /** Folded `-word` parts: a text holding one does not match. */
  excluded: string[];
}

/** A query's "-word" parts (ASCII or full-width minus) apart from the rest, which is what is searched for. */
export function splitExclusions(query: string): { text: string; excluded: string[] } {
  const parts = query.split(/\s+/).filter(Boolean);
  const excluded = parts.filter((p) => /^[-－]./u.test(p)).map((p) => p.slice(1));
  return { text: parts.filter((p) => !/^[-－]./u.test(p)).join(' '), excluded };
}

/** The character pairs of every run of a folded text (a lone character stands for itself). */
export function runPairs(folded: string): string[] {
  return [...new Set(runs(folded).flatMap((run) => grams(run, false)))];
}

/** Particles and conjunctions that carry no subject: a pair holding one is not counted (北京西站的出口 finds 北京西站出口). */
const PARTICLES = new Set([...'的了在是和与及或之着过吗呢吧啊呀地得也都就还被把从向对于']);

/** Share of the counted terms a text must hold. */
const MIN_SHARE = 2 / 3;

/**
 * A query as the lexical half ranks it, the way search engines treat CJK text: any of its character pairs
 * may match, at least two thirds of them must, particles are not counted, and `-word` excludes.
 * So 浦东机场 (浦东 东机 机场) finds 上海浦东国际机场 (two of three), and 金额 发票 finds 发票金额.
 */
export function queryTokens(query: string): TextQuery {
  const { text: folded, excluded } = splitExclusions(foldText(query));
  const pairs = runPairs(folded);
  const counted = pairs.filter((t) => ![...t].some((c) => PARTICLES.has(c)));
  const terms = counted.length ? counted : pairs;
  return {
    terms,
    minMatch: terms.length <= 2 ? terms.length : Math.ceil(terms.length * MIN_SHARE),
    boost: [...new Set([...pairs.filter((t) => !terms.includes(t)), ...runs(folded), ...words(folded)])],
    phrase: folded.replace(/\s+/g, ''),
    excluded,
  };
}

/** Where the folded query occurs in a line (code-unit offsets into the original line), for highlighting. */
export function matchRanges(line: string, query: TextQuery): [number, number][] {
  const folded = foldText(line);
  // NFKC and the character conversion keep one character per character for CJK and full-width forms, so
  // offsets carry over when the lengths agree; otherwise highlight nothing rather than the wrong span.
  if (folded.length !== line.length) return [];
  const needles = query.phrase && folded.includes(query.phrase) ? [query.phrase] : query.terms.filter((t) => folded.includes(t));
  const ranges: [number, number][] = [];
  for (const n of needles) {
    for (let i = folded.indexOf(n); i >= 0 && n; i = folded.indexOf(n, i + n.length)) ranges.push([i, i + n.length]);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([...r]);
  }
  return merged;
}

/** A text as the lexical index stores it: folded for the exact-phrase check, and its tokens. */
export function indexedText(text: string): { content: string; tokens: string[] } {
  return { content: foldText(text), tokens: indexTokens(text) };
}
