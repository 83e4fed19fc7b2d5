import type { DuplicateLink, DuplicateRepository } from '../db/repositories';
import { phashToStored } from '../images/similarity';
import type { VectorCollection } from '../store/vectorStore';
import type { Logger } from '../util/logger';

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
    private readonly collection: VectorCollection,
    private readonly settings: DuplicateSettings,
    private readonly log: Logger,
  ) {}

  async afterIndexed(owner: string, assets: readonly IndexedAsset[]): Promise<void> {
    for (const asset of assets) {
      for (const point of asset.points) {
        const links = await this.neighbours(owner, asset, point);
        if (links.length) await this.repo.link(owner, { pointId: point.pointId, imageId: asset.imageId, segment: point.segment }, links);
      }
    }
  }

  private async neighbours(owner: string, asset: IndexedAsset, point: IndexedAsset['points'][number]): Promise<DuplicateLink[]> {
    const { threshold, neighbours, phashBits } = this.settings;
    const hits = await this.collection.search({ vector: point.vector, limit: neighbours + 1, filter: { owner } });
    const links = new Map<string, DuplicateLink>();
    for (const h of hits) {
      const imageId = h.payload.segment?.asset ?? h.id;
      if (imageId === asset.imageId || h.score < threshold) continue;
      links.set(h.id, { pointId: h.id, imageId, segment: h.payload.segment?.index ?? 0, via: 'vector', similarity: h.score });
    }
    // The same pixels re-encoded says more than close vectors: it names the link when both hold.
    if (asset.phash && point.segment === 0) {
      for (const n of await this.repo.phashNeighbours(owner, phashToStored(asset.phash), phashBits, asset.imageId)) {
        links.set(n.id, { pointId: n.id, imageId: n.id, segment: 0, via: 'phash', similarity: 1 - n.distance / 64 });
      }
    }
    return [...links.values()];
  }

  /** Ingest never fails because of duplicate finding: the images are committed already. */
  async afterIndexedQuietly(owner: string, assets: readonly IndexedAsset[]): Promise<void> {
    await this.afterIndexed(owner, assets).catch((e: Error) => this.log.warn({ err: e.message, owner }, 'could not look for near-duplicates'));
  }
}
