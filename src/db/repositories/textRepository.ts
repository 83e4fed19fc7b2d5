import type { Caption, TextEntry } from '../generated/client';
import type { Db } from '../prisma';

export type TextRow = TextEntry;
export type CaptionRow = Caption;

export interface NewText {
  id: string;
  owner: string;
  externalId: string | null;
  text: string;
}

/** The image-to-text corpus and the captions cached from it (or from a generative captioner). */
export class TextRepository {
  constructor(private readonly db: Db) {}

  async upsertPending(rows: readonly NewText[]): Promise<void> {
    await this.db.$transaction(
      rows.map((r) => this.db.textEntry.upsert({ where: { id: r.id }, create: { ...r, state: 'pending' }, update: { text: r.text, state: 'pending' } })),
    );
  }

  async markIndexed(ids: readonly string[], packKey: string): Promise<void> {
    await this.db.textEntry.updateMany({ where: { id: { in: [...ids] } }, data: { state: 'indexed', modelPack: packKey } });
  }

  staleForPack(packKey: string, take: number): Promise<TextRow[]> {
    return this.db.textEntry.findMany({ where: { OR: [{ modelPack: { not: packKey } }, { modelPack: null }] }, take });
  }

  indexedByIds(ids: readonly string[]): Promise<TextRow[]> {
    return this.db.textEntry.findMany({ where: { id: { in: [...ids] }, state: 'indexed' } });
  }

  async idsOfOwner(owner: string): Promise<string[]> {
    return (await this.db.textEntry.findMany({ where: { owner }, select: { id: true } })).map((r) => r.id);
  }

  async deleteByIds(ids: readonly string[]): Promise<void> {
    await this.db.textEntry.deleteMany({ where: { id: { in: [...ids] } } });
  }

  cachedCaptions(imageIds: readonly string[], model: string): Promise<CaptionRow[]> {
    return this.db.caption.findMany({ where: { imageId: { in: [...imageIds] }, model } });
  }

  async saveCaption(imageId: string, model: string, made: { text: string; score: number | null; original?: string | null | undefined }): Promise<void> {
    const data = { text: made.text, score: made.score, original: made.original ?? null };
    await this.db.caption.upsert({ where: { imageId_model: { imageId, model } }, create: { imageId, model, ...data }, update: data });
  }

  /** Drops a model's cached captions of these owners' images, or of everyone's when `owners` is null. */
  async dropCaptions(model: string, owners: readonly string[] | null): Promise<void> {
    await this.db.caption.deleteMany({ where: { model, ...(owners ? { image: { owner: { in: [...owners] } } } : {}) } });
  }
}
