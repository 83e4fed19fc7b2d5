import type { TextEncoder } from '../models/encoders';
import { dot } from '../models/vectorMath';

export interface LabelScore {
  label: string;
  /** Cosine similarity of image and prompt. */
  score: number;
  /** Softmax over the given labels, CLIP-style (logit scale 100). */
  probability: number;
}

/** The usual Chinese-CLIP prompt; `{}` is replaced by the label. */
export const DEFAULT_TEMPLATE = '一张{}的照片';
const LOGIT_SCALE = 100;

export async function classify(text: TextEncoder, imageVector: Float32Array, labels: readonly string[], template = DEFAULT_TEMPLATE): Promise<LabelScore[]> {
  const prompts = labels.map((l) => (template.includes('{}') ? template.replace('{}', l) : `${template}${l}`));
  const vectors = await text.encode(prompts);
  const scores = vectors.map((v) => dot(v, imageVector));
  const max = Math.max(...scores);
  const exps = scores.map((s) => Math.exp(LOGIT_SCALE * (s - max)));
  const sum = exps.reduce((a, b) => a + b, 0);
  return labels.map((label, i) => ({ label, score: scores[i]!, probability: exps[i]! / sum })).sort((a, b) => b.score - a.score);
}
