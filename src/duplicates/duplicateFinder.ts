import type { DuplicateLink, DuplicateRepository, PointLinks } from '../db/repositories';
import { phashToStored } from '../images/similarity';
import type { VectorCollection } from '../store/vectorStore';

export interface DuplicateSettings {
  /** Cosine similarity above which two points are near-duplicates. */
  threshold: number;
  /** Difference-hash bits two photos may differ in and still be the same picture re-encoded. */
  phashBits: number;
  /** Nearest neighbours looked at per new point. */
  neighbours: number;
}

/** A newly indexed asset: its points (a photo's one, a video's frames) and, for photos, its hash. */
export interface IndexedAsset {
  imageId: string;
  phash: string | null;
  points: { pointId: string; segment: number; vector: Float32Array }[];
}

/**
 * Finds near-duplicates as images arrive, so nothing rescans the library: each new point asks the
 * vector store for its nearest neighbours of the same owner (a video's own frames excluded) and
 * Postgres for photos whose hash is a few bits away, and joins their group. Bursts and resized,
 * recompressed, cropped or brightened copies land in one group; exact re-encodes are caught by
 * the hash even where the vectors of a given model drift.
 */
export class DuplicateFinder {
  constructor(
    private readonly repo: DuplicateRepository,
    private readonly settings: DuplicateSettings,
  ) {}

  /** `collection`: the one the assets' vectors were just written to (their neighbours are there, by the same model). */
  async afterIndexed(owner: string, assets: readonly IndexedAsset[], collection: VectorCollection): Promise<void> {
    const links: PointLinks[] = [];
    const byHash = await this.phashNeighbours(owner, assets);
    for (const asset of assets) {
      for (const point of asset.points) {
        const neighbours = await this.neighbours(collection, owner, asset, point, point.segment === 0 ? (byHash.get(asset.imageId) ?? []) : []);
        if (neighbours.length) links.push({ point: { pointId: point.pointId, imageId: asset.imageId, segment: point.segment }, neighbours });
      }
    }
    await this.repo.link(owner, links);
  }

  /** The batch's photos' near copies by difference hash, by photo: one query for the batch. */
  private async phashNeighbours(owner: string, assets: readonly IndexedAsset[]): Promise<Map<string, DuplicateLink[]>> {
    const photos = assets.flatMap((a) => (a.phash ? [{ imageId: a.imageId, phash: phashToStored(a.phash) }] : []));
    const byPhoto = new Map<string, DuplicateLink[]>();
    for (const n of await this.repo.phashNeighbours(owner, photos, this.settings.phashBits)) {
      const link: DuplicateLink = { pointId: n.id, imageId: n.id, segment: 0, via: 'phash', similarity: 1 - n.distance / 64 };
      const list = byPhoto.get(n.of);
      if (list) list.push(link);
      else byPhoto.set(n.of, [link]);
    }
    return byPhoto;
  }

  private async neighbours(
    collection: VectorCollection,
    owner: string,
    asset: IndexedAsset,
    point: IndexedAsset['points'][number],
    sameHash: readonly DuplicateLink[],
  ): Promise<DuplicateLink[]> {
    const { threshold, neighbours } = this.settings;
    const hits = await collection.search({ vector: point.vector, limit: neighbours + 1, filter: { owner } });
    const links = new Map<string, DuplicateLink>();
    for (const h of hits) {
      const imageId = h.payload.segment?.asset ?? h.id;
      if (imageId === asset.imageId || h.score < threshold) continue;
      links.set(h.id, { pointId: h.id, imageId, segment: h.payload.segment?.index ?? 0, via: 'vector', similarity: h.score });
    }
    // The same pixels re-encoded says more than close vectors: it names the link when both hold.
    for (const n of sameHash) links.set(n.pointId, n);
    return [...links.values()];
  }
}
