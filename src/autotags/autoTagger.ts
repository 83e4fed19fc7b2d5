import type { ModelPack } from '../models/modelPack';
import { DEFAULT_TEMPLATE } from '../search/zeroShot';
import { VOCABULARY, VOCABULARY_VERSION, type Concept, type ConceptGroup } from './vocabulary';

export interface AutoTag {
  label: string;
  /** Cosine similarity of the image and the label's prompt. */
  score: number;
}

export interface AutoTagSettings {
  /** Tags kept per image, best first. */
  keep: number;
  /** At most this many from one group, so that four kinds of red food do not crowd out the scene. */
  perGroup: number;
  /** A tag scoring this much below the best is dropped: the pack does not see it in the photo. */
  margin: number;
}

const ENCODE_SLICE = 64;

export const DEFAULT_AUTO_TAGS: AutoTagSettings = { keep: 5, perGroup: 2, margin: 0.05 };

/** The label vectors of one pack: prompts encoded once, in the background, kept while the pack is in use. */
export interface LabelMatrix {
  packKey: string;
  dim: number;
  vectors: Float32Array;
}

/**
 * Zero-shot tags: every concept of the built-in vocabulary, put in the usual prompt, scored against an
 * image's stored vector by the image pack's own text tower. No second model, nothing to download.
 */
export class AutoTagger {
  private matrix: Promise<LabelMatrix> | null = null;
  private readyFor: string | null = null;

  constructor(
    private readonly settings: AutoTagSettings = DEFAULT_AUTO_TAGS,
    private readonly vocabulary: readonly Concept[] = VOCABULARY,
  ) {}

  /** What the tags depend on: a new pack or a new vocabulary makes every image's tags again. */
  version(pack: ModelPack): string {
    return `${pack.key}/${VOCABULARY_VERSION}`;
  }

  async tag(pack: ModelPack, imageVector: Float32Array): Promise<AutoTag[]> {
    const m = await this.labels(pack);
    if (m.dim !== imageVector.length) throw new Error(`image vector has ${imageVector.length} dimensions, the pack's text tower ${m.dim}`);
    const scored = this.vocabulary.map((c, k) => {
      let s = 0;
      for (let d = 0, o = k * m.dim; d < m.dim; d++) s += m.vectors[o + d]! * imageVector[d]!;
      return { concept: c, score: s };
    });
    scored.sort((a, b) => b.score - a.score);
    const best = scored[0]?.score ?? 0;
    const perGroup = new Map<ConceptGroup, number>();
    const out: AutoTag[] = [];
    for (const { concept, score } of scored) {
      if (out.length === this.settings.keep || score < best - this.settings.margin) break;
      const n = perGroup.get(concept.group) ?? 0;
      if (n === this.settings.perGroup) continue;
      perGroup.set(concept.group, n + 1);
      out.push({ label: concept.label, score: Math.round(score * 1e4) / 1e4 });
    }
    return out;
  }

  /** Whether this pack's prompt vectors are encoded already. */
  hasLabels(pack: ModelPack): boolean {
    return this.readyFor === pack.key;
  }

  /** The vocabulary's prompt vectors for this pack, row after row (relevance calibration reads them as unrelated texts). */
  labels(pack: ModelPack): Promise<LabelMatrix> {
    if (!this.matrix) this.matrix = this.encode(pack);
    return this.matrix.then((m) => {
      if (m.packKey === pack.key) return m;
      this.matrix = this.encode(pack);
      return this.matrix;
    });
  }

  private async encode(pack: ModelPack): Promise<LabelMatrix> {
    try {
      const prompts = this.vocabulary.map((c) => DEFAULT_TEMPLATE.replace('{}', c.label));
      const dim = pack.text.dim;
      const flat = new Float32Array(prompts.length * dim);
      // In slices: each is one short background run (a query waits at most for one), and one request to a remote encoder.
      for (let at = 0; at < prompts.length; at += ENCODE_SLICE) {
        const vectors = await pack.text.encode(prompts.slice(at, at + ENCODE_SLICE), 'background');
        vectors.forEach((v, k) => flat.set(v, (at + k) * dim));
      }
      this.readyFor = pack.key;
      return { packKey: pack.key, dim, vectors: flat };
    } catch (e) {
      this.matrix = null;
      throw e;
    }
  }
}

/** The caption made of tags when no captioner is installed: the best three, e.g. 海边 · 日落 · 两个人. */
export function tagPhrase(tags: readonly AutoTag[]): string {
  return tags
    .slice(0, 3)
    .map((t) => t.label)
    .join(' · ');
}
