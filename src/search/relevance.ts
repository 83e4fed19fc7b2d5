import type { ModelInUse } from '../packs/activeModel';
import type { ModelPack } from '../models/modelPack';

/** How cosine similarities of pairs that do not belong together spread, for one pack and one kind of query. */
export interface NullDistribution {
  mean: number;
  std: number;
  /** Pairs it was learnt from. */
  pairs: number;
}

export interface RelevanceScale {
  /** Text queries against images: stored images against the vocabulary's prompts, nearly all unrelated. */
  text: NullDistribution;
  /** Image queries: stored images against each other; null while the library has too few for it. */
  image: NullDistribution | null;
}

/** A hit is a good match from here: about three standard deviations above what unrelated pairs score. */
export const GOOD_MATCH = 0.5;
const Z_MIDPOINT = 3;
const Z_SPREAD = 0.75;

/** How far a cosine stands above the pack's null distribution, as 0..1: 0.5 at three standard deviations (unknown: the cosine itself). */
export function semanticRelevance(cosine: number, d: NullDistribution | null): number {
  if (!d) return round(Math.min(1, Math.max(0, cosine)));
  const z = (cosine - d.mean) / Math.max(d.std, 1e-6);
  return round(1 / (1 + Math.exp(-(z - Z_MIDPOINT) / Z_SPREAD)));
}

/**
 * The lexical half's own strength: the whole query printed (or in the caption or tags) is near 1; otherwise
 * the share of its pairs held, from 0.3 (none) to 0.9 (all, apart).
 */
export function lexicalRelevance(match: { phrase: boolean; share: number }): number {
  return round(match.phrase ? 0.97 : 0.3 + 0.6 * match.share);
}

const round = (x: number) => Math.round(x * 1000) / 1000;

function distribution(values: Iterable<number>): NullDistribution {
  let n = 0;
  let sum = 0;
  let sq = 0;
  for (const v of values) {
    n++;
    sum += v;
    sq += v * v;
  }
  const mean = n ? sum / n : 0;
  return { mean, std: n > 1 ? Math.sqrt(Math.max(0, sq / n - mean * mean)) : 1, pairs: n };
}

function dot(a: Float32Array, b: Float32Array, offset = 0): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[offset + i]!;
  return s;
}

export interface CalibrationSources {
  /** Stored image vectors of the pack in use, a sample of at most `n`. */
  sampleImages(model: ModelInUse, n: number): Promise<Float32Array[]>;
  /** The unrelated texts' vectors, row after row: the auto-tag vocabulary's prompts. */
  textVectors(pack: ModelPack): Promise<{ dim: number; vectors: Float32Array }>;
  /** Whether textVectors answers at once (encoding the vocabulary takes seconds on a real pack). */
  textVectorsReady(pack: ModelPack): boolean;
}

const SAMPLE = 256;

interface Learning {
  pack: string;
  images: number;
  /** When the library was last sampled for it. */
  at: number;
  scale: Promise<RelevanceScale>;
}

/**
 * Learns each pack's null distributions without labelled data, from the library itself: a sample of its
 * images scored against the vocabulary's 1,248 prompts (almost every such pair unrelated), and against each
 * other. Learnt again when the pack changes or the library has doubled since (up to SAMPLE images, looked
 * at no more often than `resampleMs`). A search never waits for the vocabulary to be encoded: until it is,
 * relevance is uncalibrated (the cosine itself).
 */
export class RelevanceCalibration {
  private learning: Learning | null = null;
  private settled: { pack: string; scale: RelevanceScale } | null = null;

  constructor(
    private readonly sources: CalibrationSources,
    private readonly resampleMs = 60_000,
  ) {}

  async scale(model: ModelInUse): Promise<RelevanceScale | null> {
    const { pack } = model;
    const current = this.learning?.pack === pack.key ? this.learning : null;
    if (current && (current.images >= SAMPLE || Date.now() - current.at < this.resampleMs)) return current.scale;
    if (!this.sources.textVectorsReady(pack)) {
      void this.sources.textVectors(pack).catch(() => undefined);
      return this.settled?.pack === pack.key ? this.settled.scale : null;
    }
    const images = await this.sources.sampleImages(model, SAMPLE);
    if (images.length === 0) return null;
    if (current && images.length < current.images * 2) {
      current.at = Date.now();
      return current.scale;
    }
    const scale = this.learn(pack, images);
    this.learning = { pack: pack.key, images: images.length, at: Date.now(), scale };
    scale.then(
      (s) => (this.settled = { pack: pack.key, scale: s }),
      () => (this.learning = null),
    );
    return scale;
  }

  private async learn(pack: ModelPack, images: readonly Float32Array[]): Promise<RelevanceScale> {
    const { dim, vectors } = await this.sources.textVectors(pack);
    const texts = vectors.length / dim;
    function* textPairs() {
      for (const image of images) for (let t = 0; t < texts; t++) yield dot(image, vectors, t * dim);
    }
    function* imagePairs() {
      for (let i = 0; i < images.length; i++) for (let j = i + 1; j < images.length; j++) yield dot(images[i]!, images[j]!);
    }
    const image = distribution(imagePairs());
    return { text: distribution(textPairs()), image: image.pairs >= 10 ? image : null };
  }
}
