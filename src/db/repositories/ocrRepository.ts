import { Prisma } from '../generated/client';
import type { Db } from '../prisma';
import { jsonb, msFromNow, ownersTakingTurns, type OwnerQueue } from './sqlFragments';

export interface StoredLine {
  text: string;
  confidence: number;
  box: [number, number, number, number];
}

/** Where a query's words were found: printed in the photo (OCR), in its caption, or in its auto tags. */
export type TextField = 'ocr' | 'caption' | 'tags';

export interface OcrMatch {
  id: string;
  score: number;
  /** The image's best-matching field. */
  field: TextField;
  /** OCR: the lines read; caption and tags: one line, their text. */
  lines: StoredLine[];
  /** The whole query occurs in the field. */
  phrase: boolean;
  /** Share of the query's terms the field holds. */
  share: number;
}

export interface OcrQuery {
  terms: readonly string[];
  minMatch: number;
  boost: readonly string[];
  phrase: string;
  excluded: readonly string[];
}

/** tsquery text with every lexeme quoted, so no character of a token is read as an operator. */
function tsquery(tokens: readonly string[], op: '&' | '|'): string {
  return tokens.map((t) => `'${t.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`).join(` ${op} `);
}

/** Texts of one field scored per candidate set: a word printed in a tenth of a library costs this many, not the tenth. */
const TIER_CANDIDATES = 2000;

/** Most AND-combinations written out in a tsquery; past that, any term matches in the index and the count decides. */
const MAX_COMBINATIONS = 64;

function combinations(n: number, k: number): number {
  let c = 1;
  for (let i = 0; i < k; i++) c = (c * (n - i)) / (i + 1);
  return c;
}

function choose<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  return items.flatMap((first, i) => choose(items.slice(i + 1), k - 1).map((rest) => [first, ...rest]));
}

/** A tsquery the GIN index answers for texts with at least `m` of the terms (any of them, past MAX_COMBINATIONS: the count decides). */
function atLeast(terms: readonly string[], m: number): string {
  if (m >= terms.length) return tsquery(terms, '&');
  if (combinations(terms.length, m) > MAX_COMBINATIONS) return tsquery(terms, '|');
  return choose(terms, m)
    .map((c) => `(${tsquery(c, '&')})`)
    .join(' | ');
}

function likePattern(s: string): string {
  return `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Live, indexed images waiting to be read that nobody holds (or whose reader's lease ran out). */
const CLAIMABLE_OCR = Prisma.sql`ocr_state = 'pending' AND state = 'indexed' AND deleted_at IS NULL AND (ocr_lease_until IS NULL OR ocr_lease_until < now())`;

/**
 * The lexical index: text read in images (image_texts) and written about them (image_words: captions,
 * auto tags), stored with their tokens and searched by them together. The OCR state lives on the image row.
 */
export class OcrRepository {
  constructor(private readonly db: Db) {}

  /** Stores what was read (replacing an earlier reading) and marks the image's OCR done, together; nothing when the image is gone. */
  async save(imageId: string, engine: string, lines: readonly StoredLine[], content: string, tokens: readonly string[]): Promise<void> {
    await this.db.$transaction([
      this.db.$executeRaw`
        INSERT INTO image_texts (image_id, engine, lines, content, tokens)
        SELECT ${imageId}::uuid, ${engine}, ${jsonb(lines)}, ${content}, array_to_tsvector(${[...tokens]}::text[])
        WHERE EXISTS (SELECT 1 FROM images WHERE id = ${imageId}::uuid)
        ON CONFLICT (image_id) DO UPDATE SET engine = EXCLUDED.engine, lines = EXCLUDED.lines, content = EXCLUDED.content,
          tokens = EXCLUDED.tokens, created_at = now()`,
      this.db.image.updateMany({ where: { id: imageId }, data: { ocrState: 'done', ocrError: null } }),
    ]);
  }

  /** Stores a caption or the auto tags in the index (replacing the field's earlier text); nothing when the image is gone. */
  async saveWords(imageId: string, field: Exclude<TextField, 'ocr'>, source: string, text: string, content: string, tokens: readonly string[]): Promise<void> {
    await this.db.$executeRaw`
      INSERT INTO image_words (image_id, field, source, text, content, tokens)
      SELECT ${imageId}::uuid, ${field}, ${source}, ${text}, ${content}, array_to_tsvector(${[...tokens]}::text[])
      WHERE EXISTS (SELECT 1 FROM images WHERE id = ${imageId}::uuid)
      ON CONFLICT (image_id, field) DO UPDATE SET source = EXCLUDED.source, text = EXCLUDED.text, content = EXCLUDED.content,
        tokens = EXCLUDED.tokens, updated_at = now()`;
  }

  async markFailed(imageId: string, error: string): Promise<void> {
    await this.db.image.updateMany({ where: { id: imageId }, data: { ocrState: 'failed', ocrError: error.slice(0, 500) } });
  }

  async markPending(imageIds: readonly string[]): Promise<void> {
    if (imageIds.length)
      await this.db.image.updateMany({ where: { id: { in: [...imageIds] } }, data: { ocrState: 'pending', ocrError: null, ocrLeaseUntil: null } });
  }

  async linesOf(imageId: string): Promise<{ engine: string; lines: StoredLine[] } | null> {
    const row = await this.db.imageText.findUnique({ where: { imageId }, select: { engine: true, lines: true } });
    return row ? { engine: row.engine, lines: row.lines as unknown as StoredLine[] } : null;
  }

  /**
   * Live, indexed images of `owner` (any when undefined) one of whose fields (printed text, caption, auto tags)
   * holds at least `minMatch` of the query's terms and none of its exclusions, best first, each once at its best
   * field: an exact occurrence of the whole phrase first, then the more terms held the better, then ts_rank
   * over the terms and the boosting words. The candidates are the texts holding every term and those holding
   * at least `minMatch`, each set capped at TIER_CANDIDATES per field, so a word printed in half the library
   * costs a bounded scan and never crowds out the texts that hold the whole query.
   */
  async search(q: OcrQuery, owner: string | undefined, limit: number): Promise<OcrMatch[]> {
    const n = q.terms.length;
    if (n === 0) return [];
    const tiers = [...new Set([n, Math.max(1, Math.min(n, q.minMatch))])].map((k) => Prisma.sql`(${atLeast(q.terms, k)})::tsquery`);
    const live = Prisma.sql`i.deleted_at IS NULL AND i.state = 'indexed' AND (${owner ?? null}::text IS NULL OR i.owner = ${owner ?? null}::text)`;
    const candidates = Prisma.join(
      tiers.flatMap((matches) => [
        Prisma.sql`(SELECT t.image_id, 'ocr' AS field, t.content, t.tokens, t.lines
          FROM image_texts t JOIN images i ON i.id = t.image_id WHERE t.tokens @@ ${matches} AND ${live} LIMIT ${TIER_CANDIDATES})`,
        Prisma.sql`(SELECT w.image_id, w.field, w.content, w.tokens,
            jsonb_build_array(jsonb_build_object('text', w.text, 'confidence', 1, 'box', jsonb_build_array(0, 0, 0, 0)))
          FROM image_words w JOIN images i ON i.id = w.image_id WHERE w.tokens @@ ${matches} AND ${live} LIMIT ${TIER_CANDIDATES})`,
      ]),
      ' UNION ALL ',
    );
    // One lookup in the row's sorted lexemes per term: far cheaper than expanding the vector into rows.
    const held = Prisma.join(
      q.terms.map((t) => Prisma.sql`(d.tokens @@ (${tsquery([t], '&')})::tsquery)::int`),
      ' + ',
    );
    const excluded = q.excluded.length
      ? Prisma.sql`AND NOT EXISTS (SELECT 1 FROM image_texts x WHERE x.image_id = d.image_id AND x.content LIKE ANY(${q.excluded.map(likePattern)}::text[]))
          AND NOT EXISTS (SELECT 1 FROM image_words x WHERE x.image_id = d.image_id AND x.content LIKE ANY(${q.excluded.map(likePattern)}::text[]))`
      : Prisma.empty;
    // score = phrase + (held + rank/(1+rank)) / (n+1): the phrase outweighs any count, a term outweighs any rank.
    return this.db.$queryRaw<OcrMatch[]>`
      WITH docs AS (${candidates}), counted AS (
        SELECT d.*, (${held}) AS held, ts_rank(d.tokens, (${tsquery([...q.terms, ...q.boost], '|')})::tsquery) AS rank FROM docs d
      ), best AS (
        SELECT DISTINCT ON (d.image_id) d.image_id, d.field, d.lines, d.content LIKE ${likePattern(q.phrase)} AS phrase, d.held::float8 / ${n} AS share,
          ((CASE WHEN d.content LIKE ${likePattern(q.phrase)} THEN 1.0 ELSE 0.0 END) + (d.held + d.rank / (1 + d.rank)) / ${n + 1})::float8 AS score
        FROM counted d
        WHERE d.held >= ${q.minMatch} ${excluded}
        ORDER BY d.image_id, score DESC
      )
      SELECT image_id::text AS id, field, lines, phrase, share, score FROM best ORDER BY score DESC, image_id LIMIT ${limit}`;
  }

  /**
   * Leases the next page of images waiting to be read (owners taking turns, each owner's oldest first), so
   * that instances sharing the database never read one twice; an image whose lease ran out (its reader died)
   * is offered again.
   */
  claimPendingOcr(take: number, leaseMs: number): Promise<{ id: string; width: number }[]> {
    const queue: OwnerQueue = {
      table: Prisma.sql`images`,
      waiting: Prisma.sql`t.ocr_state = 'pending'`,
      claimable: CLAIMABLE_OCR,
      at: Prisma.sql`t.ingested_at`,
      key: Prisma.sql`t.id`,
    };
    return this.db.$queryRaw<{ id: string; width: number }[]>`
      UPDATE images SET ocr_lease_until = ${msFromNow(leaseMs)}
      WHERE ${CLAIMABLE_OCR} AND id IN (${ownersTakingTurns(queue, take)})
      RETURNING id, width`;
  }

  /** Gives back images claimed but not read (the reader is stopping): anyone may read them at once. */
  async releaseOcr(imageIds: readonly string[]): Promise<void> {
    if (imageIds.length) await this.db.image.updateMany({ where: { id: { in: [...imageIds] } }, data: { ocrLeaseUntil: null } });
  }

  /** Whether an image waits to be read that nobody has leased. */
  async hasClaimableOcr(): Promise<boolean> {
    const rows = await this.db.$queryRaw<{ id: string }[]>`
      SELECT id FROM images
      WHERE ${CLAIMABLE_OCR}
      LIMIT 1`;
    return rows.length > 0;
  }

  /** Images OCR never queued (ingested while it was off, or before it existed); for backfill jobs. */
  async awaitingOcr(owner: string | undefined, take = 100_000): Promise<{ id: string }[]> {
    return this.db.image.findMany({
      where: { deletedAt: null, state: 'indexed', ocrState: null, ...(owner !== undefined ? { owner } : {}) },
      select: { id: true },
      orderBy: { id: 'asc' },
      take,
    });
  }

  /** OCR progress of the images a job's items wrote. */
  async jobCounts(jobId: string): Promise<{ pending: number; done: number; failed: number }> {
    const rows = await this.db.$queryRaw<{ state: string | null; n: bigint }[]>`
      SELECT i.ocr_state::text AS state, count(*) AS n FROM ingest_items it JOIN images i ON i.id = it.image_id
      WHERE it.job_id = ${jobId}::uuid GROUP BY i.ocr_state`;
    const n = (s: string) => Number(rows.find((r) => r.state === s)?.n ?? 0);
    return { pending: n('pending'), done: n('done'), failed: n('failed') };
  }
}
