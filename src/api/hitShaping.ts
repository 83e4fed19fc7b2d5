import type { CaptionService } from '../search/captions';
import type { SearchResult } from '../search/searchService';
import type { HitDecorator } from './routes/search';
import type { SearchHit } from './schemas/responses';
import type { UrlSigner } from './signedUrls';
import type { Segment } from '../search/imageRecord';

/** Adds signed image URLs and, when asked, captions (after ranking; a missing caption says why). */
export function hitDecorator(captions: CaptionService, signer: UrlSigner): HitDecorator {
  return async (result: SearchResult, opts): Promise<SearchHit[]> => {
    const made = opts.caption ? await captions.forImages(result.hits) : null;
    const frame = (id: string, s: Segment) => ({ ...s, thumbnailUrl: signer.sign(`/v1/images/${id}/segments/${s.index}/thumbnail`) });
    return result.hits.map(({ segment, otherSegments, ...h }) => {
      const c = made?.get(h.id);
      return {
        ...h,
        // A video's hit shows the frame that matched.
        thumbnailUrl: signer.sign(segment ? `/v1/images/${h.id}/segments/${segment.index}/thumbnail` : `/v1/images/${h.id}/thumbnail`),
        previewUrl: signer.sign(segment ? `/v1/images/${h.id}/segments/${segment.index}/preview` : `/v1/images/${h.id}/preview`),
        ...(h.durationMs !== null && h.videoCodec !== null ? { videoUrl: signer.sign(`/v1/images/${h.id}/video`) } : {}),
        ...(segment ? { segment: frame(h.id, segment), otherSegments: (otherSegments ?? []).map((s) => frame(h.id, s)) } : {}),
        ...(c ? ('caption' in c ? { caption: c.caption } : { caption: null, captionError: c.error }) : {}),
      };
    });
  };
}
