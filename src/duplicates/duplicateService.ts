import type { DuplicateGroupRow, DuplicateRepository, ImageRow } from '../db/repositories';
import { AppError } from '../errors/appError';
import type { ImageRecord } from '../search/imageRecord';
import { toImageRecord } from '../search/searchService';
import { lastPerKey } from '../util/collections';

export interface DuplicateGroupView {
  id: string;
  dismissed: boolean;
  suggestedKeep: string;
  members: { image: ImageRecord; segment: number | null; via: 'vector' | 'phash'; similarity: number }[];
}

/**
 * The copy worth keeping: one no editor saved, then the most pixels, the sharpest, the largest file,
 * the earliest taken — what a person picking from a burst or a pile of re-shares would choose.
 */
export function keeperOf(images: readonly ImageRow[]): ImageRow {
  const score = (i: ImageRow) => [i.edited ? 0 : 1, i.width * i.height, i.sharpness ?? 0, i.bytes, -(i.takenAt?.getTime() ?? Infinity)];
  return images.reduce((a, b) => {
    const [sa, sb] = [score(a), score(b)];
    for (let k = 0; k < sa.length; k++) if (sa[k] !== sb[k]) return sb[k]! > sa[k]! ? b : a;
    return a;
  });
}

function view(g: DuplicateGroupRow): DuplicateGroupView {
  const images = lastPerKey(g.members, (m) => m.imageId).map((m) => m.image);
  return {
    id: g.id,
    dismissed: g.dismissedAt !== null,
    suggestedKeep: keeperOf(images).id,
    members: g.members.map((m) => ({
      image: toImageRecord(m.image),
      segment: m.image.mediaType === 'video' || m.segment > 0 ? m.segment : null,
      via: m.via === 'phash' ? 'phash' : 'vector',
      similarity: m.similarity,
    })),
  };
}

/** Reading and dismissing the near-duplicate groups DuplicateFinder keeps. */
export class DuplicateService {
  constructor(private readonly repo: DuplicateRepository) {}

  async list(
    owner: string,
    page: { offset: number; limit: number },
    includeDismissed = false,
  ): Promise<{ groups: DuplicateGroupView[]; nextOffset: number | null }> {
    const rows = await this.repo.listGroups(owner, page.offset, page.limit + 1, includeDismissed);
    return { groups: rows.slice(0, page.limit).map(view), nextOffset: rows.length > page.limit ? page.offset + page.limit : null };
  }

  /** Hidden from the list until a new near-duplicate joins the group. */
  async dismiss(owner: string, id: string): Promise<void> {
    if (!(await this.repo.dismiss(owner, id))) throw new AppError('not_found', `duplicate group ${id} not found`);
  }
}
