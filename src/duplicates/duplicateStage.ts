import type { ImageRepository } from '../db/repositories';
import { phashFromStored } from '../images/similarity';
import type { ModelSource } from '../packs/activeModel';
import type { ImageStage } from '../stages/imageStages';
import { assetPointIds } from '../util/ids';
import type { DuplicateFinder } from './duplicateFinder';

/**
 * Duplicate grouping as a background image stage: each new image (and, the first time, the library that
 * was there before) looks for its near copies among the owner's vectors of the pack in use.
 */
export function duplicateStage(finder: DuplicateFinder, images: ImageRepository, model: ModelSource): ImageStage {
  return {
    name: 'duplicates',
    background: false,
    version: () => model.current.pack.key,
    async run({ imageId }) {
      const row = await images.findById(imageId);
      if (!row || row.deletedAt) return;
      const collection = model.current.images;
      const ids = assetPointIds(row);
      const stored = new Map((await collection.retrieve(ids)).map((p) => [p.id, p.vector]));
      const points = ids.flatMap((pointId, segment) => {
        const vector = stored.get(pointId);
        return vector ? [{ pointId, segment, vector }] : [];
      });
      await finder.afterIndexed(row.owner, [{ imageId, phash: row.phash === null ? null : phashFromStored(row.phash), points }], collection);
    },
  };
}
