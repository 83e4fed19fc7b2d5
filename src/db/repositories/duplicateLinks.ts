import { randomUUID } from 'node:crypto';

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

/** A new point and the near neighbours found for it. */
export interface PointLinks {
  point: DuplicatePoint;
  neighbours: readonly DuplicateLink[];
}

/** The writes that put a batch's linked points into groups. */
export interface GroupPlan {
  newGroups: string[];
  /** Groups a batch joined: each `from` group's members move to `into`, and the `from` groups go. */
  merges: { into: string; from: string[] }[];
  newMembers: (DuplicateLink & { groupId: string })[];
  /** Every group that gained members: shown again even if dismissed. */
  touched: string[];
}

/**
 * The same groups as linking the points one after another: a point, its neighbours and the groups
 * any of them are in already end up in one group, the first existing one by id (or a new one). A
 * point not yet in a group joins with the link that first named it.
 */
export function planGroups(links: readonly PointLinks[], existing: ReadonlyMap<string, string>): GroupPlan {
  const parent = new Map<string, string>();
  const root = (k: string): string => {
    let r = k;
    while (parent.has(r) && parent.get(r) !== r) r = parent.get(r)!;
    parent.set(k, r);
    return r;
  };
  // The smaller key roots a union, and group keys ('\0' + id) sort before point ids: a component's
  // root is its first existing group when it has one.
  const union = (a: string, b: string) => {
    const [ra, rb] = [root(a), root(b)];
    if (ra !== rb) parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb);
  };
  const groupKey = (id: string) => `\0${id}`;
  const withPoint = links.map(({ point, neighbours }) => {
    const best = neighbours.reduce((a, b) => (b.similarity > a.similarity ? b : a));
    return [{ ...point, via: best.via, similarity: best.similarity }, ...neighbours];
  });
  for (const all of withPoint) {
    for (const p of all) {
      const group = existing.get(p.pointId);
      if (group) union(groupKey(group), p.pointId);
      union(all[0]!.pointId, p.pointId);
    }
  }
  const plan: GroupPlan = { newGroups: [], merges: [], newMembers: [], touched: [] };
  const targets = new Map<string, string>();
  const targetOf = (key: string): string => {
    const r = root(key);
    if (!targets.has(r)) {
      const existingGroup = r.startsWith('\0') ? r.slice(1) : null;
      const target = existingGroup ?? randomUUID();
      if (!existingGroup) plan.newGroups.push(target);
      targets.set(r, target);
      plan.touched.push(target);
    }
    return targets.get(r)!;
  };
  const placed = new Set(existing.keys());
  for (const all of withPoint) {
    targetOf(all[0]!.pointId);
    for (const p of all) {
      if (placed.has(p.pointId)) continue;
      placed.add(p.pointId);
      plan.newMembers.push({ ...p, groupId: targetOf(p.pointId) });
    }
  }
  const merged = new Map<string, string[]>();
  for (const group of new Set(existing.values())) {
    const into = targetOf(groupKey(group));
    if (into !== group) merged.set(into, [...(merged.get(into) ?? []), group]);
  }
  plan.merges = [...merged].map(([into, from]) => ({ into, from }));
  return plan;
}
