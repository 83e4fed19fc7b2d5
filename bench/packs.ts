import { stat } from 'node:fs/promises';
import path from 'node:path';
import { loadManifest, type ModelManifest } from '../src/models/manifest';
import { loadModelPack, type ModelPack } from '../src/models/modelPack';
import { dot } from '../src/models/vectorMath';
import type { PixelTensor } from '../src/models/preprocess';
import { decodeTensors, writePhotoLikeJpegs } from './fixtures';
import type { BenchPack, Harness } from './harness';
import { round, summarize, timed } from './stats';

const TEXTS = ['海边的日落', '穿红裙子的小女孩', '一只在草地上奔跑的狗', '雪山和湖泊', '城市夜景', '桌上的咖啡和书', '下雨的街道', '生日蛋糕'];

export interface PackCost {
  model: string;
  /** Per image, encoded one at a time and in batches of `batchSize`. */
  imageMs: { batch1: ReturnType<typeof summarize>; batched: number; batchSize: number };
  imagesPerSec: number;
  textMs: ReturnType<typeof summarize>;
  /** Resident memory the loaded pack added to the process (both sessions, weights and arenas after a run). */
  memoryMiB: number;
  fileMiB: number;
}

const rssMiB = () => process.memoryUsage().rss / 2 ** 20;

/** Encode cost of one pack on this machine, all cores, as the service runs it. */
async function packCost(bench: BenchPack, tensors: PixelTensor[], batchSize: number): Promise<{ cost: PackCost; pack: ModelPack }> {
  const before = rssMiB();
  const pack = await loadModelPack(bench.dir, { batchSize, intraOpThreads: 0, interOpThreads: 1, maxConcurrentRuns: 1, verifyChecksums: false });
  await pack.image.encode(tensors.slice(0, batchSize));
  await pack.text.encode(TEXTS.slice(0, 2));
  const memoryMiB = rssMiB() - before;
  const one: number[] = [];
  for (const t of tensors.slice(0, 8)) one.push((await timed(() => pack.image.encode([t]))).ms);
  const all = await timed(() => pack.image.encode(tensors));
  const textMs: number[] = [];
  for (let i = 0; i < 40; i++) textMs.push((await timed(() => pack.text.encode([`${TEXTS[i % TEXTS.length]} ${i}`]))).ms);
  const fileBytes = (
    await Promise.all([pack.manifest.image.file, pack.manifest.text.file].map((f) => stat(path.join(bench.dir, f)).then((s) => s.size)))
  ).reduce((a, b) => a + b, 0);
  return {
    pack,
    cost: {
      model: bench.label,
      imageMs: { batch1: summarize(one), batched: round(all.ms / tensors.length), batchSize },
      imagesPerSec: round(tensors.length / (all.ms / 1000), 2),
      textMs: summarize(textMs),
      memoryMiB: round(memoryMiB, 0),
      fileMiB: round(fileBytes / 2 ** 20, 1),
    },
  };
}

interface CosineSummary {
  mean: number;
  min: number;
}

const cosines = (xs: number[]): CosineSummary => ({ mean: round(xs.reduce((a, b) => a + b, 0) / xs.length, 5), min: round(Math.min(...xs), 5) });

export interface PackComparison {
  packs: PackCost[];
  /** Cosine between the two packs' embeddings of the same inputs: what quantisation moves. */
  drift: { images: CosineSummary; texts: CosineSummary } | null;
}

/** fp32 against int8 (or whatever packs the harness has): cost of each, and how far their embeddings drift apart. */
export async function benchPacks(h: Harness, packs: BenchPack[], batchSize: number): Promise<PackComparison> {
  const files = await writePhotoLikeJpegs(path.join(h.root, 'pack-photos'), 16, 1600, 1200, 5);
  // Decoded once per preprocessing: the packs compared here share it, and so share their inputs.
  const decoded = new Map<string, PixelTensor[]>();
  const tensorsFor = async (prep: ModelManifest['image']) => {
    const key = JSON.stringify([prep.size, prep.resize, prep.interpolation, prep.mean, prep.std]);
    if (!decoded.has(key)) decoded.set(key, await decodeTensors(files, prep));
    return decoded.get(key)!;
  };
  const measured: { cost: PackCost; pack: ModelPack }[] = [];
  for (const p of packs) measured.push(await packCost(p, await tensorsFor((await loadManifest(p.dir)).image), batchSize));
  let drift: PackComparison['drift'] = null;
  if (measured.length === 2) {
    const [a, b] = measured.map((m) => m.pack) as [ModelPack, ModelPack];
    const tensors = await tensorsFor(a.manifest.image);
    const [ia, ib] = [await a.image.encode(tensors), await b.image.encode(tensors)];
    const [ta, tb] = [await a.text.encode(TEXTS), await b.text.encode(TEXTS)];
    // Embeddings are unit vectors: the dot product is the cosine.
    drift = { images: cosines(ia.map((v, i) => dot(v, ib[i]!))), texts: cosines(ta.map((v, i) => dot(v, tb[i]!))) };
  }
  await Promise.all(measured.map((m) => m.pack.close()));
  return { packs: measured.map((m) => m.cost), drift };
}
