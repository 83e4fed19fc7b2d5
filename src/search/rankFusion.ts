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

/**
 * The alternative: min-max normalise each ranking's scores to [0, 1] and mix them linearly. It depends on
 * the score distributions of both halves (a page of near-equal cosine scores is stretched to the whole
 * range), which is why RRF is the default; HYBRID_FUSION=linear selects this one.
 */
export function linearFusion(semantic: readonly Ranked[], text: readonly Ranked[], textWeight = 0.5): Fused[] {
  const norm = (list: readonly Ranked[]) => {
    const max = Math.max(...list.map((x) => x.score));
    const min = Math.min(...list.map((x) => x.score));
    return new Map(list.map((x) => [x.id, max > min ? (x.score - min) / (max - min) : 1]));
  };
  const s = norm(semantic);
  const t = norm(text);
  const raw = new Map([...semantic, ...text].map((x) => [x.id, x]));
  return [...raw.keys()]
    .map((id) => ({
      id,
      score: (1 - textWeight) * (s.get(id) ?? 0) + textWeight * (t.get(id) ?? 0),
      semanticScore: semantic.find((x) => x.id === id)?.score ?? null,
      textScore: text.find((x) => x.id === id)?.score ?? null,
    }))
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export type FusionMethod = 'rrf' | 'linear';

export function fuse(method: FusionMethod, semantic: readonly Ranked[], text: readonly Ranked[]): Fused[] {
  return method === 'linear' ? linearFusion(semantic, text) : reciprocalRankFusion(semantic, text);
}
