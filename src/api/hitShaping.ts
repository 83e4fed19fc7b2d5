import type { CaptionService } from '../search/captions';
import type { SearchResult } from '../search/searchService';
import type { HitDecorator } from './handlers/search';
import type { SearchHit } from './schemas/responses';
import type { UrlSigner } from './signedUrls';
import type { Segment } from '../search/imageRecord';

/** The path of an image's thumbnail or preview, or of one of its frames (a video's, Live Photo's or animation's). */
export function imageFilePath(id: string, kind: 'thumbnail' | 'preview', segment?: number | null): string {
  return segment !== undefined && segment !== null ? `/v1/images/${id}/segments/${segment}/${kind}` : `/v1/images/${id}/${kind}`;
}

/** Adds signed image URLs and, when asked, captions (after ranking; a missing caption says why). */
export function hitDecorator(captions: CaptionService, signer: UrlSigner): HitDecorator {
  return async (result: SearchResult, opts): Promise<SearchHit[]> => {
    const made = opts.caption ? await captions.forImages(result.hits) : null;
    const frame = (id: string, s: Segment) => ({ ...s, thumbnailUrl: signer.sign(imageFilePath(id, 'thumbnail', s.index)) });
    return result.hits.map(({ segment, otherSegments, ...h }) => {
      const c = made?.get(h.id);
      return {
        ...h,
        // A video's hit shows the frame that matched.
        thumbnailUrl: signer.sign(imageFilePath(h.id, 'thumbnail', segment?.index)),
        previewUrl: signer.sign(imageFilePath(h.id, 'preview', segment?.index)),
        ...(h.durationMs !== null && h.videoCodec !== null ? { videoUrl: signer.sign(`/v1/images/${h.id}/video`) } : {}),
        ...(segment ? { segment: frame(h.id, segment), otherSegments: (otherSegments ?? []).map((s) => frame(h.id, s)) } : {}),
        ...(c ? ('caption' in c ? { caption: c.caption } : { caption: null, captionError: c.error }) : {}),
      };
    });
  };
}
