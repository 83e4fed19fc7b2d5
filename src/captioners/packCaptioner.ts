import path from 'node:path';
import type { DerivativeStore } from '../images/derivativeStore';
import { CaptionUnavailable, type Captioner, type MadeCaption } from '../search/captions';
import type { ImageRecord } from '../search/imageRecord';
import type { CaptionerModel } from './captionerManifest';

type Generate = (input: string) => Promise<string>;

export interface CaptionerSpec {
  /** Names the captions it writes (the caption stage's version). */
  model: string;
  /** The pack's folder; each model's `dir` is inside it. */
  dir: string;
  models: readonly Pick<CaptionerModel, 'role' | 'dir' | 'dtype'>[];
  maxNewTokens: number;
}

/**
 * Runs a captioner pack with transformers.js from its local folder, never from the hub: the image-to-text
 * pipeline describes the photo, and where the pack has a translator, the translation pipeline turns the
 * (English) description into Chinese, the original kept beside it.
 */
export class PackCaptioner implements Captioner {
  readonly model: string;
  private loaded: Promise<{ caption: Generate; translate: Generate | null }> | null = null;

  constructor(
    private readonly spec: CaptionerSpec,
    private readonly derivatives: Pick<DerivativeStore, 'pathFor'> | null,
  ) {
    this.model = spec.model;
  }

  /** Loads the models; fails fast with a readable reason when a folder is not a usable model. */
  load(): Promise<{ caption: Generate; translate: Generate | null }> {
    this.loaded ??= (async () => {
      const { pipeline, env } = await import('@huggingface/transformers');
      env.allowRemoteModels = false;
      env.allowLocalModels = true;
      const dirOf = (role: CaptionerModel['role']) => this.spec.models.find((m) => m.role === role);
      const captioner = dirOf('caption');
      if (!captioner) throw new CaptionUnavailable('the captioner pack has no captioning model');
      const options = (m: Pick<CaptionerModel, 'dtype'>) => ({ local_files_only: true, dtype: m.dtype });
      const max_new_tokens = this.spec.maxNewTokens;
      const describe = await pipeline('image-to-text', path.join(this.spec.dir, captioner.dir), options(captioner));
      const caption: Generate = async (file) => firstText(await describe(file, { max_new_tokens }), 'generated_text');
      const translator = dirOf('translate');
      if (!translator) return { caption, translate: null };
      const translatePipe = await pipeline('translation', path.join(this.spec.dir, translator.dir), options(translator));
      return { caption, translate: async (text) => firstText(await translatePipe(text, { max_new_tokens }), 'translation_text') };
    })();
    this.loaded.catch(() => (this.loaded = null));
    return this.loaded;
  }

  /** Describes an image file: the caption, and the untranslated original when the pack translates. */
  async describe(file: string): Promise<MadeCaption> {
    const { caption, translate } = await this.load();
    const original = await caption(file);
    if (!original) throw new CaptionUnavailable('the captioning model produced no text');
    if (!translate) return { text: original, score: null, original: null };
    const text = await translate(original);
    if (!text) throw new CaptionUnavailable(`the translation model produced no text for "${original}"`);
    return { text, score: null, original };
  }

  caption(image: ImageRecord): Promise<MadeCaption> {
    if (!this.derivatives) throw new CaptionUnavailable('this captioner reads files, not stored images');
    return this.describe(this.derivatives.pathFor('preview', image.id));
  }
}

function firstText(out: unknown, key: 'generated_text' | 'translation_text'): string {
  const first = (Array.isArray(out) ? out[0] : out) as Record<string, unknown> | undefined;
  const text = first?.[key];
  return typeof text === 'string' ? text.trim() : '';
}
