import path from 'node:path';
import type { DerivativeStore } from '../images/derivativeStore';
import { CaptionUnavailable, type Captioner, type MadeCaption } from '../search/captions';
import type { ImageRecord } from '../search/imageRecord';
import type { CaptionerModel } from './captionerManifest';
import { firstText, loadDescriber, localTransformers } from './describers';

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
 * Runs a captioner pack with transformers.js from its local folder, never from the hub: the captioning
 * model describes the photo as its layout needs (describers.ts), and where the pack has a translator, the
 * translation pipeline turns the (English) description into Chinese, the original kept beside it.
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
      const dirOf = (role: CaptionerModel['role']) => this.spec.models.find((m) => m.role === role);
      const captioner = dirOf('caption');
      if (!captioner) throw new CaptionUnavailable('the captioner pack has no captioning model');
      const maxNewTokens = this.spec.maxNewTokens;
      const caption = await loadDescriber(path.join(this.spec.dir, captioner.dir), { dtype: captioner.dtype, maxNewTokens });
      const translator = dirOf('translate');
      if (!translator) return { caption, translate: null };
      const { pipeline } = await localTransformers();
      const translatePipe = await pipeline('translation', path.join(this.spec.dir, translator.dir), { local_files_only: true, dtype: translator.dtype });
      return {
        caption,
        translate: async (text) => firstText(await translatePipe(text, { max_new_tokens: maxNewTokens }), 'translation_text'),
      };
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
