import type { ImageRepository } from '../db/repositories';
import { syncChangedRow } from '../library/payloadSync';
import type { ModelSource } from '../packs/activeModel';
import type { ImageStage } from '../stages/imageStages';
import type { ReverseGeocoder } from './reverseGeocoder';

/**
 * Places as an image stage: a photo with a GPS position gets its country, province and city right after it is
 * stored (geocoding takes microseconds, so it does not wait behind queries), and the library that was there before
 * is placed by the stage's backfill; a new gazetteer version places every photo again. The names go on the row
 * and into the vector payload, where the `place` filter reads them.
 */
export function placeStage(
  geocoder: ReverseGeocoder,
  images: ImageRepository,
  model: ModelSource,
  /** Told the owner of each photo whose place changed. */
  placed: (owner: string) => void = () => {},
): ImageStage {
  return {
    name: 'places',
    background: false,
    version: () => geocoder.version,
    async run({ imageId }) {
      const row = await images.findById(imageId);
      if (!row || row.deletedAt) return;
      const place = row.latitude !== null && row.longitude !== null ? geocoder.lookup(row.latitude, row.longitude) : null;
      // Nothing to write for a photo without a place that had none (most screenshots and downloads).
      if (!place && row.places.length === 0) return;
      const changed = await images.setPlace(imageId, place, geocoder.version);
      if (!changed) return;
      await syncChangedRow(images, model.current.images, changed);
      placed(changed.owner);
    },
  };
}
