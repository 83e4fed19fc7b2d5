/** Two rankings of the same kind of item, fused by reciprocal rank (Cormack, Clarke & Büttcher, SIGIR 2009). */
export interface Ranked {
  id: string;
  score: number;
}

export interface Fused {
  id: string;
  /** Σ 1 / (k + rank) over the rankings the item is in (rank from 1). */
  score: number;
  semanticScore: number | null;
  textScore: number | null;
}

/**
 * RRF needs no calibration between a cosine similarity and a text rank score, which live on unrelated
 * scales; k = 60 is the paper's value (npm run bench compares it with either ranking alone on the
 * rendered set). Ties go to the smaller id, so pages are stable.
 */
export function reciprocalRankFusion(semantic: readonly Ranked[], text: readonly Ranked[], k = 60): Fused[] {
  const fused = new Map<string, Fused>();
  const add = (list: readonly Ranked[], field: 'semanticScore' | 'textScore') =>
    list.forEach((r, i) => {
      const f = fused.get(r.id) ?? { id: r.id, score: 0, semanticScore: null, textScore: null };
      f.score += 1 / (k + i + 1);
      f[field] = r.score;
      fused.set(r.id, f);
    });
  add(semantic, 'semanticScore');
  add(text, 'textScore');
  return [...fused.values()].sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
