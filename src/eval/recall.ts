import { dot } from '../models/vectorMath';

export const RECALL_AT = [1, 5, 10] as const;

export interface Recall {
  r1: number;
  r5: number;
  r10: number;
}

export interface RetrievalScores {
  textToImage: Recall;
  imageToText: Recall;
  /** Mean of the six recalls, as Chinese-CLIP reports it (MR). */
  meanRecall: number;
}

/** Recall@K over queries whose ranked answers (best first) should contain any of `relevant`. */
export function recallAtK(rankings: readonly (readonly string[])[], relevant: readonly ReadonlySet<string>[]): Recall {
  const at = (k: number) =>
    rankings.length === 0 ? 0 : rankings.filter((ranked, i) => ranked.slice(0, k).some((id) => relevant[i]!.has(id))).length / rankings.length;
  return { r1: at(1), r5: at(5), r10: at(10) };
}

export function scores(textToImage: Recall, imageToText: Recall): RetrievalScores {
  const all = [textToImage.r1, textToImage.r5, textToImage.r10, imageToText.r1, imageToText.r5, imageToText.r10];
  return { textToImage, imageToText, meanRecall: all.reduce((a, b) => a + b, 0) / all.length };
}

/** Exact top-k ids by inner product (the vectors are unit length): the brute-force answer ANN approximates. */
export function exactTopK(query: Float32Array, candidates: readonly { id: string; vector: Float32Array }[], k: number): string[] {
  return candidates
    .map((c) => ({ id: c.id, score: dot(query, c.vector) }))
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
    .slice(0, k)
    .map((c) => c.id);
}
