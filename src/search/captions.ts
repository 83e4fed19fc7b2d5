import type { TextRepository } from '../db/repositories';
import { AppError } from '../errors/appError';
import type { Logger } from '../util/logger';
import type { ImageRecord } from './imageRecord';
import type { QueryVector } from './searchService';
import type { TextCorpus } from './textCorpus';

/** What a captioner made: the text, a score when it has one, and the untranslated original when it translated. */
export interface MadeCaption {
  text: string;
  score: number | null;
  original?: string | null;
}

export interface Caption extends MadeCaption {
  model: string;
}

/** Makes one caption for one image; throws CaptionUnavailable (or anything) when it cannot. */
export interface Captioner {
  readonly model: string;
  caption(image: ImageRecord): Promise<MadeCaption>;
}

export class CaptionUnavailable extends AppError {
  constructor(message: string) {
    super('caption_unavailable', message);
  }
}

/** The captioner did not answer in time: unlike other refusals, worth asking again later. */
export class CaptionTimedOut extends CaptionUnavailable {}

/** Default captioner: the corpus text closest to the image (image-to-text retrieval, top 1), by the pack in use. */
export class RetrievalCaptioner implements Captioner {
  constructor(
    private readonly corpus: TextCorpus,
    private readonly imageVector: (id: string) => Promise<QueryVector>,
    private readonly packKey: () => string,
  ) {}

  get model(): string {
    return `retrieval:${this.packKey()}`;
  }

  async caption(image: ImageRecord): Promise<MadeCaption> {
    const [best] = await this.corpus.retrieve(await this.imageVector(image.id), image.owner, 1);
    if (!best) throw new CaptionUnavailable('the text corpus has no texts for this owner');
    return { text: best.text, score: best.score };
  }
}

export interface StoredCaption {
  text: string;
  original: string | null;
  model: string;
  language: 'zh' | 'en' | 'other';
  createdAt: string;
}

/** By script: Han characters make it Chinese, Latin letters alone English. */
export function languageOf(text: string): StoredCaption['language'] {
  if (/\p{Script=Han}/u.test(text)) return 'zh';
  return /[a-z]/i.test(text) ? 'en' : 'other';
}

export type CaptionResult = { caption: Caption } | { error: string };

/**
 * Captions for search hits, made once per image and model and cached in Postgres. Runs after
 * ranking; a slow or failing captioner costs at most `timeoutMs` and never fails the search. Where
 * the captioner cannot (none configured, an empty corpus, a timeout), the fallback (auto tags) answers.
 */
export class CaptionService {
  constructor(
    private readonly texts: TextRepository,
    private readonly captioner: Captioner | null,
    private readonly timeoutMs: number,
    private readonly log: Logger,
    private readonly fallback: Captioner | null = null,
  ) {}

  get model(): string | null {
    return this.captioner?.model ?? this.fallback?.model ?? null;
  }

  async forImages(images: readonly ImageRecord[]): Promise<Map<string, CaptionResult>> {
    const out = new Map<string, CaptionResult>();
    const captioner = this.captioner;
    if (!captioner) {
      await Promise.all(images.map(async (i) => out.set(i.id, await this.fallBack(i, 'captioning is not configured'))));
      return out;
    }
    const cached = await this.texts.cachedCaptions(
      images.map((i) => i.id),
      captioner.model,
    );
    for (const c of cached) out.set(c.imageId, { caption: { text: c.text, model: c.model, score: c.score, original: c.original } });
    await Promise.all(
      images
        .filter((i) => !out.has(i.id))
        .map(async (image) => {
          try {
            const made = await withTimeout(captioner.caption(image), this.timeoutMs);
            await this.texts.saveCaption(image.id, captioner.model, made);
            out.set(image.id, { caption: { ...made, model: captioner.model } });
          } catch (e) {
            if (!(e instanceof CaptionUnavailable)) this.log.warn({ image: image.id, err: (e as Error).message }, 'captioning failed');
            out.set(image.id, await this.fallBack(image, (e as Error).message));
          }
        }),
    );
    return out;
  }

  /** The caption the configured captioner stored for an image, if it has. */
  async stored(imageId: string): Promise<StoredCaption | null> {
    if (!this.captioner) return null;
    const [row] = await this.texts.cachedCaptions([imageId], this.captioner.model);
    return row ? { text: row.text, original: row.original, model: row.model, language: languageOf(row.text), createdAt: row.createdAt.toISOString() } : null;
  }

  private async fallBack(image: ImageRecord, why: string): Promise<CaptionResult> {
    if (this.fallback) {
      try {
        const made = await withTimeout(this.fallback.caption(image), this.timeoutMs);
        return { caption: { ...made, model: this.fallback.model } };
      } catch (e) {
        why = `${why}; ${(e as Error).message}`;
      }
    }
    return { error: `caption unavailable: ${why}` };
  }

  /** Drops cached retrieval captions of these owners ("" = everyone's): the corpus changed under them. */
  async invalidate(owners: readonly string[]): Promise<void> {
    if (!this.captioner?.model.startsWith('retrieval:')) return;
    await this.texts.dropCaptions(this.captioner.model, owners.includes('') ? null : owners);
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CaptionTimedOut(`captioning took longer than ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
