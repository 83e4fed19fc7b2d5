import type { ImageRepository, OcrRepository } from '../db/repositories';
import { indexedText } from '../ocr/textTokens';
import { syncChangedRow } from '../library/payloadSync';
import type { ModelSource } from '../packs/activeModel';
import type { ImageStage } from '../stages/imageStages';
import { PermanentFailure } from '../stages/workQueue';
import type { AutoTagger } from './autoTagger';

/**
 * Auto tags as a background image stage: each indexed image's stored vector (its still, for a video) is
 * scored against the vocabulary, and the best concepts are stored on the row and in its vector payload,
 * where the filters read them, and in the lexical index, where a search's words find them. A new pack is a new version: every image is tagged again.
 */
export function autoTagStage(tagger: AutoTagger, images: ImageRepository, lexical: OcrRepository, model: ModelSource): ImageStage {
  return {
    name: 'autotags',
    background: true,
    version: () => tagger.version(model.current.pack),
    async run({ imageId }) {
      const { pack, images: collection } = model.current;
      const [point] = await collection.retrieve([imageId]);
      if (!point) {
        const row = await images.findById(imageId);
        if (!row || row.deletedAt) return;
        // Indexed by another pack: retried, and made due again (attempts forgotten) when the re-index reaches it.
        if (row.modelPack !== pack.key) throw new Error(`image ${imageId} is not yet in ${pack.key}'s collection`);
        throw new PermanentFailure(`image ${imageId} has no vector in ${pack.key}'s collection`);
      }
      const tags = await tagger.tag(pack, point.vector);
      const version = tagger.version(pack);
      const row = await images.setAutoTags(imageId, tags, version);
      if (!row) return;
      await syncChangedRow(images, collection, row);
      const text = tags.map((t) => t.label).join(' ');
      const { content, tokens } = indexedText(text);
      await lexical.saveWords(imageId, 'tags', version, text, content, tokens);
    },
  };
}
