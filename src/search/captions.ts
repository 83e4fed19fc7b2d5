import type { TextRepository } from '../db/repositories';
import { AppError } from '../errors/appError';
import type { DerivativeStore } from '../images/derivativeStore';
import type { Logger } from '../util/logger';
import type { ImageRecord } from './imageRecord';
import type { QueryVector } from './searchService';
import type { TextCorpus } from './textCorpus';

export interface Caption {
  text: string;
  model: string;
  score: number | null;
}

/** Makes one caption for one image; throws CaptionUnavailable (or anything) when it cannot. */
export interface Captioner {
  readonly model: string;
  caption(image: ImageRecord): Promise<{ text: string; score: number | null }>;
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

  async caption(image: ImageRecord): Promise<{ text: string; score: number | null }> {
    const [best] = await this.corpus.retrieve(await this.imageVector(image.id), image.owner, 1);
    if (!best) throw new CaptionUnavailable('the text corpus has no texts for this owner');
    return { text: best.text, score: best.score };
  }
}

type ImageToText = (input: string) => Promise<unknown>;

/**
 * A generative captioner: an encoder-decoder ONNX model (e.g. a ViT-GPT2 or BLIP export) run by
 * transformers.js' image-to-text pipeline from a local folder, never from the hub.
 */
export class GenerativeCaptioner implements Captioner {
  readonly model: string;
  private pipe: Promise<ImageToText> | null = null;

  constructor(
    private readonly modelDir: string,
    private readonly derivatives: DerivativeStore,
    private readonly maxNewTokens = 32,
  ) {
    this.model = `generative:${modelDir.split(/[\\/]/).filter(Boolean).pop() ?? 'model'}`;
  }

  /** Loads the model; fails fast with a readable reason when the folder is not a usable model. */
  load(): Promise<ImageToText> {
    this.pipe ??= (async () => {
      const { pipeline, env } = await import('@huggingface/transformers');
      env.allowRemoteModels = false;
      env.allowLocalModels = true;
      const pipe = await pipeline('image-to-text', this.modelDir, { local_files_only: true, dtype: 'fp32' });
      return (input: string) => pipe(input, { max_new_tokens: this.maxNewTokens });
    })();
    this.pipe.catch(() => (this.pipe = null));
    return this.pipe;
  }

  async caption(image: ImageRecord): Promise<{ text: string; score: number | null }> {
    const pipe = await this.load();
    const out = (await pipe(this.derivatives.pathFor('preview', image.id))) as { generated_text?: string }[];
    const text = out[0]?.generated_text?.trim();
    if (!text) throw new CaptionUnavailable('the captioning model produced no text');
    return { text, score: null };
  }
}

export interface StoredCaption {
  text: string;
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
    for (const c of cached) out.set(c.imageId, { caption: { text: c.text, model: c.model, score: c.score } });
    await Promise.all(
      images
        .filter((i) => !out.has(i.id))
        .map(async (image) => {
          try {
            const made = await withTimeout(captioner.caption(image), this.timeoutMs);
            await this.texts.saveCaption(image.id, captioner.model, made.text, made.score);
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
    return row ? { text: row.text, model: row.model, language: languageOf(row.text), createdAt: row.createdAt.toISOString() } : null;
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
