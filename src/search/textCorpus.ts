import type { TextRepository } from '../db/repositories';
import type { NewText } from '../db/repositories/textRepository';
import type { ModelSource } from '../packs/activeModel';
import type { QueryVector } from './searchService';
import { sha256Hex, uuidV5 } from '../util/ids';
import type { TextInput } from './textInput';

export { ownerName, textInputSchema, type TextInput } from './textInput';

/** The shared corpus has owner ""; an owner sees its own texts plus the shared ones. */
export const SHARED_OWNER = '';

export interface TextHit {
  id: string;
  externalId: string | null;
  text: string;
  owner: string | null;
  score: number;
}

const BATCH = 256;

export function textId(owner: string, externalId: string | undefined, text: string): string {
  return uuidV5(`text\u0000${owner}\u0000${externalId ?? sha256Hex(Buffer.from(text))}`);
}

/**
 * Texts for image-to-text retrieval and retrieval captions, embedded with the pack's text
 * encoder into their own collection. Same write order as images: row (pending), vector, indexed.
 */
export class TextCorpus {
  /** Called after texts change, so cached retrieval captions can be dropped. */
  onChange: ((owners: string[]) => Promise<void>) | null = null;

  constructor(
    private readonly rows: TextRepository,
    private readonly model: ModelSource,
  ) {}

  async add(inputs: readonly TextInput[]): Promise<string[]> {
    const rows = inputs.map((t) => {
      const owner = t.owner ?? SHARED_OWNER;
      return { id: textId(owner, t.id, t.text), owner, externalId: t.id ?? null, text: t.text };
    });
    for (let i = 0; i < rows.length; i += BATCH) await this.embed(rows.slice(i, i + BATCH));
    await this.onChange?.([...new Set(rows.map((r) => r.owner))]);
    return rows.map((r) => r.id);
  }

  private async embed(rows: NewText[]): Promise<void> {
    const { pack, texts } = this.model.current;
    await this.rows.upsertPending(rows);
    const vectors = await pack.text.encode(
      rows.map((r) => r.text),
      'background',
    );
    await texts.upsert(rows.map((r, i) => ({ id: r.id, vector: vectors[i]!, payload: { owner: r.owner, albums: [] } })));
    await this.rows.markIndexed(
      rows.map((r) => r.id),
      pack.key,
    );
  }

  /** Texts embedded by another pack are re-embedded from their text: nothing else is needed. */
  async reindexStale(): Promise<number> {
    let total = 0;
    for (;;) {
      const stale = await this.rows.staleForPack(this.model.current.pack.key, BATCH);
      if (stale.length === 0) return total;
      await this.embed(stale);
      total += stale.length;
    }
  }

  /** The texts nearest an image's vector, in the collection of the model that made the vector. */
  async retrieve({ vector, model }: QueryVector, owner: string | undefined, limit: number): Promise<TextHit[]> {
    const hits = await model.texts.search({ vector, limit, filter: owner === undefined ? undefined : { owner: [owner, SHARED_OWNER] } });
    if (hits.length === 0) return [];
    const rows = await this.rows.indexedByIds(hits.map((h) => h.id));
    const byId = new Map(rows.map((r) => [r.id, r]));
    return hits.flatMap((h) => {
      const r = byId.get(h.id);
      if (!r || (owner !== undefined && r.owner !== owner && r.owner !== SHARED_OWNER)) return [];
      return [{ id: r.id, externalId: r.externalId, text: r.text, owner: r.owner === SHARED_OWNER ? null : r.owner, score: h.score }];
    });
  }

  /** Removes every text of one owner (vectors first: a failure leaves rows to retry, never a text that is half gone). */
  async removeOwner(owner: string): Promise<number> {
    const ids = await this.rows.idsOfOwner(owner);
    if (ids.length === 0) return 0;
    await this.model.current.texts.delete(ids);
    await this.rows.deleteByIds(ids);
    await this.onChange?.([owner]);
    return ids.length;
  }

  count(): Promise<number> {
    return this.model.current.texts.count();
  }
}
