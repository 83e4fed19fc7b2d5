import type { CaptionService } from '../search/captions';
import type { SearchResult } from '../search/searchService';
import type { HitDecorator } from './routes/search';
import type { SearchHit } from './schemas/responses';
import type { UrlSigner } from './signedUrls';

/** Adds signed image URLs and, when asked, captions (after ranking; a missing caption says why). */
export function hitDecorator(captions: CaptionService, signer: UrlSigner): HitDecorator {
  return async (result: SearchResult, opts): Promise<SearchHit[]> => {
    const made = opts.caption ? await captions.forImages(result.hits) : null;
    return result.hits.map((h) => {
      const c = made?.get(h.id);
      return {
        ...h,
        thumbnailUrl: signer.sign(`/v1/images/${h.id}/thumbnail`),
        previewUrl: signer.sign(`/v1/images/${h.id}/preview`),
        ...(c ? ('caption' in c ? { caption: c.caption } : { caption: null, captionError: c.error }) : {}),
      };
    });
  };
}
