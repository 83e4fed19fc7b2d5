import type { ImageRepository, OcrRepository, TextRepository } from '../db/repositories';
import { indexedText } from '../ocr/textTokens';
import type { ImageStage } from '../stages/imageStages';
import { PermanentFailure } from '../stages/workQueue';
import { CaptionTimedOut, CaptionUnavailable, withTimeout, type Captioner } from './captions';
import { toImageRecord } from './searchService';

/**
 * Captions made at ingest, in the background behind queries: each indexed image is captioned once per
 * captioner (its model is the stage's version, so a new captioner captions the library again) and the
 * caption stored where `caption: true` finds it at once, and in the lexical index, where a search's words find it. A captioner that hangs costs one timeout per image.
 */
export function captionStage(
  captioner: Captioner,
  repos: { images: ImageRepository; texts: TextRepository; lexical: OcrRepository },
  timeoutMs: number,
): ImageStage {
  const { images, texts, lexical } = repos;
  return {
    name: 'captions',
    background: true,
    version: () => captioner.model,
    async run({ imageId }) {
      const row = await images.findById(imageId);
      if (!row || row.deletedAt) return;
      try {
        const made = await withTimeout(captioner.caption(toImageRecord(row)), timeoutMs);
        await texts.saveCaption(imageId, captioner.model, made);
        const { content, tokens } = indexedText(made.text);
        await lexical.saveWords(imageId, 'caption', captioner.model, made.text, content, tokens);
      } catch (e) {
        // The model said it cannot caption this image: trying again would say the same.
        if (e instanceof CaptionUnavailable && !(e instanceof CaptionTimedOut)) throw new PermanentFailure(e.message);
        throw e;
      }
    },
  };
}
