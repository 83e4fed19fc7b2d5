import type { Db } from '../prisma';
import { planGroups, type DuplicateLink, type PointLinks } from './duplicateLinks';
import type { ImageRow } from './imageRepository';

/** Two-key advisory locks (a keyspace apart from the migrations' one-key lock): this class, the owner's hash. */
const LINKING_LOCK_CLASS = 1;

export interface DuplicateGroupRow {
  id: string;
  dismissedAt: Date | null;
  members: (Omit<DuplicateLink, 'via'> & { via: string; image: ImageRow })[];
}

/** Near-duplicate groups: linked a batch of new points at a time at ingest, read page by page, dismissed by their owner. */
export class DuplicateRepository {
  constructor(private readonly db: Db) {}

  /** For each photo, the owner's photos whose difference hash is within `maxBits` of its own (a full scan of the owner's hashes each). */
  async phashNeighbours(
    owner: string,
    photos: readonly { imageId: string; phash: bigint }[],
    maxBits: number,
  ): Promise<{ of: string; id: string; distance: number }[]> {
    if (photos.length === 0) return [];
    return this.db.$queryRaw<{ of: string; id: string; distance: number }[]>`
      SELECT q.image_id::text AS "of", n.id::text AS id, n.distance
      FROM unnest(${photos.map((p) => p.imageId)}::uuid[], ${photos.map((p) => p.phash)}::bigint[]) AS q(image_id, phash)
      CROSS JOIN LATERAL (
        SELECT i.id, bit_count((i.phash # q.phash)::bit(64))::int AS distance
        FROM images i
        WHERE i.owner = ${owner} AND i.deleted_at IS NULL AND i.phash IS NOT NULL AND i.id <> q.image_id
          AND bit_count((i.phash # q.phash)::bit(64)) <= ${maxBits}
        ORDER BY distance
        LIMIT 50
      ) n
      ORDER BY q.image_id, n.distance`;
  }

  /**
   * Puts each point with its near neighbours in one group: the groups any of them are in already merge
   * into the first of them (or a new one); membership changed, so a dismissed group is shown again.
   * A batch's points are linked in a few statements, not a few per point, and an owner's links are
   * made one batch at a time so two batches joining the same group never split it.
   */
  async link(owner: string, links: readonly PointLinks[]): Promise<void> {
    if (links.length === 0) return;
    const pointIds = [...new Set(links.flatMap((l) => [l.point.pointId, ...l.neighbours.map((n) => n.pointId)]))];
    await this.db.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT pg_advisory_xact_lock(${LINKING_LOCK_CLASS}::int, hashtext(${owner}))::text`;
      const existing = await tx.duplicateMember.findMany({ where: { pointId: { in: pointIds } }, select: { pointId: true, groupId: true } });
      const plan = planGroups(links, new Map(existing.map((m) => [m.pointId, m.groupId])));
      if (plan.newGroups.length) await tx.duplicateGroup.createMany({ data: plan.newGroups.map((id) => ({ id, owner })) });
      for (const { into, from } of plan.merges) {
        await tx.duplicateMember.updateMany({ where: { groupId: { in: from } }, data: { groupId: into } });
        await tx.duplicateGroup.deleteMany({ where: { id: { in: from } } });
      }
      if (plan.newMembers.length) await tx.duplicateMember.createMany({ data: plan.newMembers, skipDuplicates: true });
      await tx.duplicateGroup.updateMany({ where: { id: { in: plan.touched } }, data: { updatedAt: new Date(), dismissedAt: null } });
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
