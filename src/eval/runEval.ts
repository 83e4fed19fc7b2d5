import path from 'node:path';
import type { ImageRepository } from '../db/repositories';
import type { ModelPack } from '../models/modelPack';
import type { SearchService } from '../search/searchService';
import type { TextCorpus } from '../search/textCorpus';
import type { EvalDataset } from './datasets';
import { exactTopK, recallAtK, scores, type RetrievalScores } from './recall';

export interface PackEvaluation {
  pack: string;
  dataset: string;
  images: number;
  texts: number;
  /** Through the service: ingest pipeline, vector store (ANN), search and text retrieval. */
  pipeline: RetrievalScores;
  /** Brute force over embeddings made straight from the files by the same pack. */
  exact: RetrievalScores;
  ingestSeconds: number;
  /** Per query, through the search service (text encode + ANN + records). */
  textQueryMs: number;
}

/** What an evaluation runs through: the service's ingest, search and text corpus (the composition root builds them). */
export interface EvalTarget {
  ingest: {
    createUploadJob(owner: string, files: { name: string; data: Buffer }[]): Promise<string>;
    runJob(jobId: string, onProgress?: () => void): Promise<void>;
    status(jobId: string): Promise<{ failed: number; errors: unknown[] } | null>;
  };
  search: Pick<SearchService, 'byText' | 'vectorOf' | 'embedImage'>;
  texts: Pick<TextCorpus, 'add' | 'retrieve'>;
  repos: { images: Pick<ImageRepository, 'ownedBy'> };
  readonly pack: Pick<ModelPack, 'key' | 'text'>;
}

const OWNER = 'eval';
const K = 10;

/**
 * Ingests the dataset's images through the real pipeline, adds its texts to the text corpus, then
 * asks the service for every text and image, and compares with exact search over the same pack.
 */
export async function evaluatePack(s: EvalTarget, dataset: EvalDataset, onProgress?: (m: string) => void): Promise<PackEvaluation> {
  const started = performance.now();
  // Each upload is named by its index in the dataset; the image's source is that name.
  const job = await s.ingest.createUploadJob(
    OWNER,
    dataset.images.map((img, i) => ({ name: `${i}`, data: img.data })),
  );
  await s.ingest.runJob(job, () => undefined);
  const status = await s.ingest.status(job);
  if (!status || status.failed > 0) throw new Error(`ingest of the dataset failed: ${JSON.stringify(status?.errors.slice(0, 3))}`);
  const ingestSeconds = (performance.now() - started) / 1000;
  onProgress?.(`ingested ${dataset.images.length} images in ${ingestSeconds.toFixed(1)} s`);
  await s.texts.add(dataset.texts.map((t) => ({ id: t.id, text: t.text, owner: OWNER })));

  const datasetImageOf = (source: string) => dataset.images[Number(path.basename(source))]!.id;
  const relevantImages = dataset.texts.map((t) => new Set(t.imageIds));
  const textsOfImage = new Map<string, Set<string>>(dataset.images.map((img) => [img.id, new Set()]));
  for (const t of dataset.texts) for (const id of t.imageIds) textsOfImage.get(id)?.add(t.id);
  const relevantTexts = dataset.images.map((img) => textsOfImage.get(img.id)!);

  // Through the service.
  const queryStart = performance.now();
  const t2i: string[][] = [];
  for (const t of dataset.texts) {
    const page = await s.search.byText(t.text, { owner: OWNER }, { limit: K, offset: 0 });
    t2i.push(page.hits.map((h) => datasetImageOf(h.source)));
  }
  const textQueryMs = (performance.now() - queryStart) / Math.max(dataset.texts.length, 1);
  const ingested = await s.repos.images.ownedBy(OWNER);
  const ourIds = new Map(ingested.map((i) => [datasetImageOf(i.source), i.id]));
  const i2t: string[][] = [];
  for (const img of dataset.images) {
    const id = ourIds.get(img.id);
    const hits = id ? await s.texts.retrieve(await s.search.vectorOf(id, OWNER), OWNER, K) : [];
    i2t.push(hits.map((h) => h.externalId ?? h.id));
  }
  onProgress?.(`asked the service ${dataset.texts.length} text and ${dataset.images.length} image queries`);

  // Exact: the same pack on the original files, no pipeline, no ANN.
  const imageVectors: { id: string; vector: Float32Array }[] = [];
  for (const img of dataset.images) imageVectors.push({ id: img.id, vector: (await s.search.embedImage(img.data)).vector });
  const textVectors = (await s.pack.text.encode(dataset.texts.map((t) => t.text))).map((vector, i) => ({ id: dataset.texts[i]!.id, vector }));
  const exactT2i = textVectors.map((t) => exactTopK(t.vector, imageVectors, K));
  const exactI2t = imageVectors.map((v) => exactTopK(v.vector, textVectors, K));

  return {
    pack: s.pack.key,
    dataset: dataset.name,
    images: dataset.images.length,
    texts: dataset.texts.length,
    pipeline: scores(recallAtK(t2i, relevantImages), recallAtK(i2t, relevantTexts)),
    exact: scores(recallAtK(exactT2i, relevantImages), recallAtK(exactI2t, relevantTexts)),
    ingestSeconds,
    textQueryMs,
  };
}

const pct = (x: number) => (100 * x).toFixed(1);

export function evaluationMarkdown(results: readonly PackEvaluation[]): string {
  const rows = results.flatMap((r) =>
    (['pipeline', 'exact'] as const).map((how) => {
      const s = r[how];
      return `| ${r.pack} | ${how} | ${pct(s.textToImage.r1)} | ${pct(s.textToImage.r5)} | ${pct(s.textToImage.r10)} | ${pct(s.imageToText.r1)} | ${pct(s.imageToText.r5)} | ${pct(s.imageToText.r10)} | ${pct(s.meanRecall)} |`;
    }),
  );
  return [
    `# Retrieval evaluation: ${results[0]?.dataset ?? ''}`,
    '',
    `${results[0]?.images ?? 0} images, ${results[0]?.texts ?? 0} texts. "pipeline" goes through ingest, the vector store and the search API; "exact" is brute force over embeddings of the original files by the same pack.`,
    '',
    '| pack | search | T→I R@1 | R@5 | R@10 | I→T R@1 | R@5 | R@10 | mean recall |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    ...results.map(
      (r) =>
        `- ${r.pack}: ingest ${r.ingestSeconds.toFixed(1)} s (${(r.images / r.ingestSeconds).toFixed(1)} images/s), ${r.textQueryMs.toFixed(1)} ms per text query`,
    ),
    '',
  ].join('\n');
}
