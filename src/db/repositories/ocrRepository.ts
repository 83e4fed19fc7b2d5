import { Prisma } from '../generated/client';
import type { Db } from '../prisma';
import { jsonb, msFromNow } from './sqlFragments';

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
}

export interface OcrQuery {
  required: readonly string[];
  boost: readonly string[];
  phrase: string;
}

/** tsquery text with every lexeme quoted, so no character of a token is read as an operator. */
function tsquery(tokens: readonly string[], op: '&' | '|'): string {
  return tokens.map((t) => `'${t.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`).join(` ${op} `);
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
   * Live, indexed images of `owner` (any when undefined) one of whose fields holds every required token,
   * best first, each once at its best field: an exact occurrence of the whole phrase outranks scattered
   * tokens, then ts_rank over tokens and words.
   */
  async search(q: OcrQuery, owner: string | undefined, limit: number): Promise<OcrMatch[]> {
    if (q.required.length === 0) return [];
    const all = Prisma.sql`(${tsquery(q.required, '&')})::tsquery`;
    const rows = await this.db.$queryRaw<OcrMatch[]>`
      WITH docs AS (
        SELECT t.image_id, 'ocr' AS field, t.content, t.tokens, t.lines FROM image_texts t WHERE t.tokens @@ ${all}
        UNION ALL
        SELECT w.image_id, w.field, w.content, w.tokens,
          jsonb_build_array(jsonb_build_object('text', w.text, 'confidence', 1, 'box', jsonb_build_array(0, 0, 0, 0)))
        FROM image_words w WHERE w.tokens @@ ${all}
      ), best AS (
        SELECT DISTINCT ON (d.image_id) d.image_id, d.field, d.lines,
          (CASE WHEN d.content LIKE ${likePattern(q.phrase)} THEN 1.0 ELSE 0.0 END
            + ts_rank(d.tokens, (${tsquery([...q.required, ...q.boost], '|')})::tsquery))::float8 AS score
        FROM docs d JOIN images i ON i.id = d.image_id
        WHERE i.deleted_at IS NULL AND i.state = 'indexed' AND (${owner ?? null}::text IS NULL OR i.owner = ${owner ?? null}::text)
        ORDER BY d.image_id, score DESC
      )
      SELECT image_id::text AS id, field, lines, score FROM best ORDER BY score DESC, image_id LIMIT ${limit}`;
    return rows;
  }

  /**
   * Leases the next page of images waiting to be read (oldest first), so that instances sharing the
   * database never read one twice; an image whose lease ran out (its reader died) is offered again.
   */
  claimPendingOcr(take: number, leaseMs: number): Promise<{ id: string; width: number }[]> {
    return this.db.$queryRaw<{ id: string; width: number }[]>`
      UPDATE images SET ocr_lease_until = ${msFromNow(leaseMs)}
      WHERE id IN (
        SELECT id FROM images
        WHERE ${CLAIMABLE_OCR}
        ORDER BY ingested_at, id
        LIMIT ${take} FOR UPDATE SKIP LOCKED)
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
