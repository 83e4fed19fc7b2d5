/**
 * npm run bench:lexical — the lexical half's ranking on 105 (query, printed text) pairs (bench/lexicalPairs.ts)
 * among BENCH_LEXICAL_ROWS synthetic OCR lines (100 000), through the service's own repository and a real
 * PostgreSQL, against the rule before it (every character pair of the query required), asked through the same
 * repository and SQL, in one run:
 * MRR@10, recall@1 and @5 per kind of query, and latency p50 / p95 of each rule.
 */
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { cliConfig, openDatabase } from '../src/cli/services';
import type { OcrQuery } from '../src/db/repositories';
import { tempDirForCluster } from '../src/db/localPostgres';
import { foldText, queryTokens, runPairs } from '../src/ocr/textTokens';
import { envNumber } from './harness';
import { LEXICAL_PAIRS, type PairKind } from './lexicalPairs';
import { insertOcrTexts, syntheticOcrLines } from './ocrLines';
import { round, summarize, timed, writeBenchResults } from './stats';

const OWNER = 'bench';

interface Quality {
  queries: number;
  mrrAt10: number;
  recallAt1: number;
  recallAt5: number;
}

function quality(ranks: readonly (number | null)[]): Quality {
  const n = ranks.length;
  const at = (k: number) => round(ranks.filter((r) => r !== null && r <= k).length / n, 3);
  return { queries: n, mrrAt10: round(ranks.reduce<number>((s, r) => s + (r !== null && r <= 10 ? 1 / r : 0), 0) / n, 3), recallAt1: at(1), recallAt5: at(5) };
}

/** The rule before this change: every character pair of the query required (particles too), no exclusions. */
function todaysRule(query: string): OcrQuery {
  const q = queryTokens(query);
  const pairs = runPairs(foldText(query));
  return { ...q, terms: pairs, minMatch: pairs.length, boost: q.boost.filter((t) => !pairs.includes(t)), excluded: [] };
}

async function insertTexts(db: Client, texts: readonly string[]): Promise<string[]> {
  const ids = texts.map(() => randomUUID());
  for (let i = 0; i < texts.length; i += 2000) {
    const page = texts.slice(i, i + 2000);
    const pageIds = ids.slice(i, i + 2000);
    await db.query(
      `INSERT INTO images (id, owner, sha256, source_kind, source, mime, width, height, bytes, state, updated_at)
       SELECT id, $2, repeat('0', 64), 'folder', id::text, 'image/jpeg', 1, 1, 1, 'indexed', now() FROM unnest($1::uuid[]) AS u(id)`,
      [pageIds, OWNER],
    );
    await insertOcrTexts(db, pageIds, page);
  }
  return ids;
}

export async function benchLexical(rows: number) {
  const dataDir = await tempDirForCluster('imagesearch-lexical-');
  const database = await openDatabase(cliConfig({ DATA_DIR: dataDir }));
  const db = new Client({ connectionString: database.url });
  await db.connect();
  try {
    const docIds = await insertTexts(
      db,
      LEXICAL_PAIRS.map((p) => p.text),
    );
    const line = syntheticOcrLines(17);
    await insertTexts(
      db,
      Array.from({ length: rows }, () => line()),
    );
    await db.query('ANALYZE image_texts');
    await db.query('ANALYZE images');
    // A query's photo is its pair's; a distractor printing the very same text counts as right too.
    const relevant = LEXICAL_PAIRS.map((p) => new Set(LEXICAL_PAIRS.flatMap((o, j) => (o.text === p.text ? [docIds[j]!] : []))));
    const rules = {
      today: async (q: string) => (await database.repos.ocr.search(todaysRule(q), OWNER, 10)).map((m) => m.id),
      new: async (q: string) => (await database.repos.ocr.search(queryTokens(q), OWNER, 10)).map((m) => m.id),
    };
    const names = Object.keys(rules) as (keyof typeof rules)[];
    // A full pass of each rule first (caches warm for both), then each query by both rules, in alternating order.
    for (const name of names) for (const p of LEXICAL_PAIRS) await rules[name](p.query);
    const ranks = Object.fromEntries(names.map((n) => [n, [] as (number | null)[]]));
    const ms = Object.fromEntries(names.map((n) => [n, [] as number[]]));
    for (const [i, p] of LEXICAL_PAIRS.entries()) {
      for (const name of i % 2 ? [...names].reverse() : names) {
        const { value, ms: t } = await timed(() => rules[name](p.query));
        ms[name]!.push(t);
        const at = value.findIndex((id) => relevant[i]!.has(id));
        ranks[name]!.push(at < 0 ? null : at + 1);
      }
    }
    const kinds = [...new Set(LEXICAL_PAIRS.map((p) => p.kind))] as PairKind[];
    const out = Object.fromEntries(
      names.map((name) => [
        name,
        {
          byKind: Object.fromEntries(kinds.map((k) => [k, quality(ranks[name]!.filter((_, i) => LEXICAL_PAIRS[i]!.kind === k))])),
          all: quality(ranks[name]!),
          latencyMs: summarize(ms[name]!),
        },
      ]),
    );
    return { pairs: LEXICAL_PAIRS.length, rows, rules: out };
  } finally {
    await db.end();
    await database.close();
  }
}

export type LexicalBench = Awaited<ReturnType<typeof benchLexical>>;

export function lexicalMarkdown(r: LexicalBench): string {
  const { today, new: next } = r.rules;
  const kinds = Object.keys(today!.byKind);
  const cell = (q: Quality) => `${q.mrrAt10} / ${q.recallAt1} / ${q.recallAt5}`;
  return [
    `**Lexical ranking**: ${r.pairs} (query, printed text) pairs written for this project (bench/lexicalPairs.ts), each photo among ` +
      `${r.rows} synthetic OCR lines and the other pairs' texts, through the service's repository on a real PostgreSQL.`,
    `Today's rule: every character pair of the query required (asked through the same repository and SQL). New: two thirds of the pairs, particles not counted, ranked by exact phrase, pairs held, ts_rank.`,
    '',
    '| queries | n | today: MRR@10 / R@1 / R@5 | new: MRR@10 / R@1 / R@5 |',
    '|---|---|---|---|',
    ...kinds.map((k) => `| ${k} | ${today!.byKind[k]!.queries} | ${cell(today!.byKind[k]!)} | ${cell(next!.byKind[k]!)} |`),
    `| **all** | ${today!.all.queries} | **${cell(today!.all)}** | **${cell(next!.all)}** |`,
    '',
    `Latency at ${r.rows} lines, ms p50 / p95 (top 10): today ${today!.latencyMs.p50} / ${today!.latencyMs.p95}, new ${next!.latencyMs.p50} / ${next!.latencyMs.p95}` +
      ` (p95 ratio ${round(next!.latencyMs.p95 / today!.latencyMs.p95, 2)}).`,
    '',
  ].join('\n');
}

if (require.main === module)
  // Needs no model pack: only PostgreSQL and the repository.
  void (async () => {
    const started = new Date().toISOString();
    const r = await benchLexical(envNumber('BENCH_LEXICAL_ROWS', 100_000));
    await writeBenchResults('lexical', 'Lexical ranking benchmark', 'npm run bench:lexical', started, r, lexicalMarkdown(r));
    console.log(lexicalMarkdown(r));
  })().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
