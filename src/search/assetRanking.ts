import type { ScoredPoint } from '../store/vectorStore';
import type { Segment } from './imageRecord';

/** A video is searched by its frames; it is ranked, and shown once, by its best one. */

export interface AssetGroup {
  asset: string;
  /** Best first. */
  points: ScoredPoint[];
}

/** Points by the asset they belong to, in the order of each asset's best point. */
export function groupByAsset(scored: readonly ScoredPoint[]): AssetGroup[] {
  const groups = new Map<string, AssetGroup>();
  for (const p of scored) {
    const asset = p.payload.segment?.asset ?? p.id;
    let g = groups.get(asset);
    if (!g) groups.set(asset, (g = { asset, points: [] }));
    g.points.push(p);
  }
  return [...groups.values()];
}

export function segmentOf(p: ScoredPoint): Segment {
  const s = p.payload.segment!;
  return { index: s.index, startMs: s.startMs, endMs: s.endMs, score: p.score };
}

/**
 * Where an asset matched: its best point, and (a video's) other stretches scoring at most `margin` below it,
 * best first; a photo has no segment.
 */
export function bestStretches(group: AssetGroup, margin: number): { score: number; segment?: Segment; otherSegments?: Segment[] } {
  const [best, ...others] = group.points;
  if (!best!.payload.segment) return { score: best!.score };
  // Other stretches that match about as well as the best one (a video's unrelated scenes are in the list too).
  const alike = others.filter((p) => p.payload.segment && p.score >= best!.score - margin);
  return { score: best!.score, segment: segmentOf(best!), otherSegments: alike.map(segmentOf) };
}
