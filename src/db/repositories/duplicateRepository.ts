import { randomUUID } from 'node:crypto';
import type { Db } from '../prisma';
import type { ImageRow } from './imageRepository';

/** One point of a photo or video, and how it came to be in a group. */
export interface DuplicatePoint {
  pointId: string;
  imageId: string;
  segment: number;
}

export interface DuplicateLink extends DuplicatePoint {
  via: 'vector' | 'phash';
  similarity: number;
}

export interface DuplicateGroupRow {
  id: string;
  dismissedAt: Date | null;
  members: (Omit<DuplicateLink, 'via'> & { via: string; image: ImageRow })[];
}

/** Near-duplicate groups: found one point at a time at ingest, read page by page, dismissed by their owner. */
export class DuplicateRepository {
  constructor(private readonly db: Db) {}

  /** An owner's photos whose difference hash is within `maxBits` of this one (a full scan of the owner's hashes). */
  async phashNeighbours(owner: string, phash: bigint, maxBits: number, exceptImage: string): Promise<{ id: string; distance: number }[]> {
    return this.db.$queryRaw<{ id: string; distance: number }[]>`
      SELECT id::text AS id, bit_count((phash # ${phash})::bit(64))::int AS distance
      FROM images
      WHERE owner = ${owner} AND deleted_at IS NULL AND phash IS NOT NULL AND id <> ${exceptImage}::uuid
        AND bit_count((phash # ${phash})::bit(64)) <= ${maxBits}
      ORDER BY distance
      LIMIT 50`;
  }

  /**
   * Puts a point and its near neighbours in one group: the groups any of them are in already merge into
   * the first of them (or a new one). Membership changed, so a dismissed group is shown again.
   */
  async link(owner: string, point: DuplicatePoint, neighbours: readonly DuplicateLink[]): Promise<string> {
    const best = neighbours.reduce((a, b) => (b.similarity > a.similarity ? b : a));
    const all: DuplicateLink[] = [{ ...point, via: best.via, similarity: best.similarity }, ...neighbours];
    return this.db.$transaction(async (tx) => {
      const existing = await tx.duplicateMember.findMany({ where: { pointId: { in: all.map((p) => p.pointId) } }, select: { pointId: true, groupId: true } });
      const groups = [...new Set(existing.map((m) => m.groupId))].sort();
      const target = groups[0] ?? randomUUID();
      if (groups.length === 0) await tx.duplicateGroup.create({ data: { id: target, owner } });
      const others = groups.slice(1);
      if (others.length) {
        await tx.duplicateMember.updateMany({ where: { groupId: { in: others } }, data: { groupId: target } });
        await tx.duplicateGroup.deleteMany({ where: { id: { in: others } } });
      }
      const known = new Set(existing.map((m) => m.pointId));
      const fresh = all.filter((p, i) => !known.has(p.pointId) && all.findIndex((q) => q.pointId === p.pointId) === i);
      if (fresh.length) {
        await tx.duplicateMember.createMany({
          data: fresh.map((p) => ({ pointId: p.pointId, imageId: p.imageId, segment: p.segment, groupId: target, via: p.via, similarity: p.similarity })),
          skipDuplicates: true,
        });
      }
      await tx.duplicateGroup.update({ where: { id: target }, data: { updatedAt: new Date(), dismissedAt: null } });
      return target;
    });
  }

  /** Groups with at least two live assets, most recently changed first. */
  async listGroups(owner: string, offset: number, limit: number, includeDismissed: boolean): Promise<DuplicateGroupRow[]> {
    const ids = await this.db.$queryRaw<{ id: string }[]>`
      SELECT g.id::text AS id
      FROM duplicate_groups g
      JOIN duplicate_members m ON m.group_id = g.id
      JOIN images i ON i.id = m.image_id AND i.deleted_at IS NULL
      WHERE g.owner = ${owner} AND (${includeDismissed} OR g.dismissed_at IS NULL)
      GROUP BY g.id, g.updated_at
      HAVING count(DISTINCT m.image_id) >= 2
      ORDER BY g.updated_at DESC, g.id
      OFFSET ${offset} LIMIT ${limit}`;
    if (ids.length === 0) return [];
    const rows = await this.db.duplicateGroup.findMany({
      where: { id: { in: ids.map((r) => r.id) } },
      include: { members: { where: { image: { deletedAt: null } }, include: { image: true }, orderBy: { pointId: 'asc' } } },
    });
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((r) => byId.get(r.id)!);
  }

  /** Hides a group of `owner`'s; false when there is no such group. */
  async dismiss(owner: string, groupId: string): Promise<boolean> {
    const { count } = await this.db.duplicateGroup.updateMany({ where: { id: groupId, owner }, data: { dismissedAt: new Date() } });
    return count > 0;
  }
}
