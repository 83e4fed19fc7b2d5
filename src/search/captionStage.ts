import type { ImageRepository, OcrRepository, TextRepository } from '../db/repositories';
import { indexedText } from '../ocr/textTokens';
import type { ImageStage } from '../stages/imageStages';
import { PermanentFailure } from '../stages/workQueue';
import { CaptionTimedOut, CaptionUnavailable, withTimeout, type Captioner, type MadeCaption } from './captions';
import { toImageRecord } from './searchService';

export const CAPTION_STAGE = 'captions';

export interface CaptionRepos {
  images: ImageRepository;
  texts: TextRepository;
  lexical: OcrRepository;
}

/** A caption where `caption: true` finds it at once, and in the lexical index, where a search's words find it. */
export async function storeCaption(repos: CaptionRepos, imageId: string, model: string, made: MadeCaption): Promise<void> {
  await repos.texts.saveCaption(imageId, model, made);
  const { content, tokens } = indexedText(made.text);
  await repos.lexical.saveWords(imageId, 'caption', model, made.text, content, tokens);
}

/**
 * Captions made at ingest, in the background behind queries: each indexed image is captioned once per
 * captioner (its model is the stage's version, so a new captioner captions the library again) and the
 * caption stored where `caption: true` finds it at once, and in the lexical index, where a search's words find it. A captioner that hangs costs one timeout per image.
 */
export function captionStage(
  captioner: Captioner,
  repos: CaptionRepos,
  timeoutMs: number,
  /** True while pull workers caption (a GPU box): this process leaves the images to them. */
  remote: () => boolean = () => false,
): ImageStage {
  return {
    name: CAPTION_STAGE,
    background: true,
    version: () => captioner.model,
    paused: remote,
    async run({ imageId }) {
      const row = await repos.images.findById(imageId);
      if (!row || row.deletedAt) return;
      try {
        await storeCaption(repos, imageId, captioner.model, await withTimeout(captioner.caption(toImageRecord(row)), timeoutMs));
      } catch (e) {
        // The model said it cannot caption this image: trying again would say the same.
        if (e instanceof CaptionUnavailable && !(e instanceof CaptionTimedOut)) throw new PermanentFailure(e.message);
        throw e;
      }
    },
  };
}
