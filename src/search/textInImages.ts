import type { ImageRepository, ImageRow, ImageVisibility, OcrRepository, StoredLine, TextField } from '../db/repositories';
import { foldText, matchRanges, queryTokens } from '../ocr/textTokens';

export interface TextMatch {
  row: ImageRow;
  score: number;
  /** Printed in the photo, in its caption, or in its auto tags. */
  field: TextField;
  /** The whole query occurs there; else the share of its pairs held. */
  phrase: boolean;
  share: number;
  /** The line (or the caption, or the tags) that matched best, and where in it. */
  matchedText: string | null;
  highlights: [number, number][];
}

export interface ImageText {
  /** null: ingested while OCR was off. */
  state: 'pending' | 'done' | 'failed' | null;
  error: string | null;
  engine: string | null;
  lines: StoredLine[];
}

/** Search by the words printed in images or written about them: the text index finds candidates, Postgres applies the caller's filters. */
export class TextInImages {
  constructor(
    private readonly ocr: OcrRepository,
    private readonly images: ImageRepository,
  ) {}

  /** What OCR read in one image, with the image's OCR state. */
  async of(row: Pick<ImageRow, 'id' | 'ocrState' | 'ocrError'>): Promise<ImageText> {
    const stored = await this.ocr.linesOf(row.id);
    return { state: row.ocrState, error: row.ocrError, engine: stored?.engine ?? null, lines: stored?.lines ?? [] };
  }

  async search(query: string, filters: ImageVisibility, limit: number, exclude: readonly string[] = []): Promise<TextMatch[]> {
    const q = queryTokens(query);
    q.excluded.push(...exclude.map(foldText));
    // Over-fetch: filters other than the owner are applied after the text index.
    const candidates = await this.ocr.search(q, filters.owner, Math.min(1000, limit * 3 + 20));
    const rows = new Map(
      (
        await this.images.indexedByIds(
          candidates.map((c) => c.id),
          filters,
        )
      ).map((r) => [r.id, r]),
    );
    return candidates
      .flatMap((c) => {
        const row = rows.get(c.id);
        if (!row) return [];
        const best = c.lines
          .map((l) => ({ text: l.text, highlights: matchRanges(l.text, q) }))
          .sort((a, b) => b.highlights.reduce((n, [s, e]) => n + e - s, 0) - a.highlights.reduce((n, [s, e]) => n + e - s, 0))[0];
        return [{ row, score: c.score, field: c.field, phrase: c.phrase, share: c.share, matchedText: best?.text ?? null, highlights: best?.highlights ?? [] }];
      })
      .slice(0, limit);
  }
}
