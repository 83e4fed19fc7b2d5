import {
  positionOf,
  type ImagePatch,
  type ImageRef,
  type ImageRepository,
  type ImageSort,
  type ImageVisibility,
  type LibraryPosition,
} from '../db/repositories';
import { NotFound, toImageRecord } from '../search/searchService';
import { placeSchema, type ImageRecord } from '../search/imageRecord';
import type { Place } from '../places/place';
import type { ModelSource } from '../packs/activeModel';
import { syncChangedRow, syncMarkedPayloads } from './payloadSync';

export interface LibraryPage {
  images: ImageRecord[];
  /** Where the next page starts; null on the last page. */
  next: LibraryPosition | null;
}

function notFound(ref: ImageRef): NotFound {
  return new NotFound('id' in ref ? `image ${ref.id} not found` : `no image with externalId "${ref.externalId}"`);
}

/** A photo product's view of one owner's library: browse it page by page, and change an image after ingest. */
export class LibraryService {
  constructor(
    private readonly images: ImageRepository,
    private readonly model: ModelSource,
  ) {}

  async list(visibility: ImageVisibility, sort: ImageSort, page: { after: LibraryPosition | null; limit: number }): Promise<LibraryPage> {
    // One extra row tells whether a next page exists.
    const rows = await this.images.listPage(visibility, sort, page.after, page.limit + 1);
    const shown = rows.slice(0, page.limit);
    const last = shown.at(-1);
    return {
      images: shown.map(toImageRecord),
      next: rows.length > page.limit && last ? positionOf(sort, last) : null,
    };
  }

  /**
   * Postgres first (it decides what every endpoint shows), marked as not yet in the index, then the vector
   * payload the search filters on, then the mark goes. If the store fails in between, the request fails
   * (retrying is safe: the patch is idempotent); if the process dies, the next start finishes it
   * (syncMarkedPayloads). Hits are checked against Postgres meanwhile, so a filter can miss, never mislead.
   */
  async update(ref: ImageRef, owner: string | undefined, patch: ImagePatch): Promise<ImageRecord> {
    const row = await this.images.update(ref, owner, patch);
    if (!row) throw notFound(ref);
    await syncChangedRow(this.images, this.model.current.images, row);
    return toImageRecord(row);
  }

  /** Changes a stop interrupted between Postgres and the index, brought into the index; returns how many. */
  finishInterruptedChanges(): Promise<number> {
    return syncMarkedPayloads(this.images, this.model);
  }

  /** Where an owner's photos were taken, each place with its count (the place facet). */
  async places(owner: string | undefined): Promise<{ place: Place; count: number }[]> {
    return (await this.images.placeFacet(owner)).flatMap((r) => {
      const place = placeSchema.safeParse(r.place);
      return place.success ? [{ place: place.data, count: r.count }] : [];
    });
  }

  async get(ref: ImageRef, owner: string | undefined): Promise<ImageRecord> {
    const row = await this.images.find(ref, owner);
    if (!row) throw notFound(ref);
    return toImageRecord(row);
  }
}
