import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readlink, rename, rm, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { loadModelPack, type ModelPack } from '../modelPack';
import { writeManifest, type ManifestDraft, type ModelManifest } from '../manifest';
import { ModelInstallError } from './errors';
import { externalDataOf } from './externalData';
import { CN_CLIP_EXTRAS, cnClipModelName, detectLayout, planInstall, type Companion, type Variant } from './layouts';
import { manifestFromRepo } from './manifestFromRepo';
import { splitCombinedGraph } from './onnxSplit';
import type { FetchProgress, PackSource, SourceFile } from './packSource';

/** The link `npm start` follows when MODEL_DIR is unset. */
export const ACTIVE_LINK = 'active';

/** Where cn_clip's vocabulary comes from: a repository, chosen by the model's name (vit-l-14-336) when not set. */
export type CompanionFor = (cnClipModel: string | undefined) => { source: PackSource; label: string };

export interface InstallOptions {
  source: PackSource;
  /** Repository id (owner/name), for the pack's name and the layouts that depend on it. */
  repo: string;
  revision: string;
  variant: Variant;
  /** cn_clip's export has no vocabulary or preprocessing: they come from this repository. */
  companion?: CompanionFor | undefined;
  modelsDir: string;
  /** Make this pack the one `npm start` uses (models/active). */
  activate: boolean;
  onProgress?: (p: FetchProgress) => void;
  onStep?: (message: string) => void;
  /** Bytes about to be fetched: the graphs and configuration first, then the external data they name. */
  onPlan?: (bytes: number) => void;
}

export interface InstalledPack {
  dir: string;
  manifest: ModelManifest;
}

const exists = (p: string) => stat(p).then(() => true, () => false);

/** Replaces `link` atomically, so a reader sees the old target or the new one, never none. */
export async function pointLink(link: string, target: string): Promise<void> {
  const tmp = `${link}.${process.pid}.tmp`;
  await rm(tmp, { force: true });
  await symlink(target, tmp);
  await rename(tmp, link);
}

export async function activePackTarget(modelsDir: string): Promise<string | undefined> {
  return readlink(path.join(modelsDir, ACTIVE_LINK)).catch(() => undefined);
}

type Tower = 'image' | 'text';

/** Two items in one run of each tower (one when the graph is fixed at one): what searches and ingest send. */
async function encodeTower(pack: ModelPack, tower: Tower, items: number): Promise<void> {
  const size = pack.image.preprocessing.size;
  if (tower === 'text') await pack.text.encode(['海边的日落', '一只猫'].slice(0, items));
  else await pack.image.encode(Array.from({ length: items }, () => ({ data: new Float32Array(3 * size * size), size })));
}

/**
 * Loads the staged pack and runs each tower on two items at once. A graph that declares an open batch
 * but runs only one item at a time (an export with a batch of 1 baked into a reshape) is recorded as
 * fixed at 1, so searches and ingest never send it more; a tower that fails even alone fails the install.
 */
async function smokeTest(dir: string, draft: ManifestDraft, write: (d: ManifestDraft) => Promise<ModelManifest>, step: (m: string) => void): Promise<ModelManifest> {
  let manifest = await write(draft);
  const load = () => loadModelPack(dir, { batchSize: 2, intraOpThreads: 1, interOpThreads: 1, maxConcurrentRuns: 1, verifyChecksums: true });
  for (const tower of ['image', 'text'] as const) {
    const pack = await load();
    try {
      await encodeTower(pack, tower, 2);
    } catch (e) {
      if (manifest[tower].maxBatch === 1) throw e;
      const fixed = { ...draft, [tower]: { ...draft[tower], maxBatch: 1 } };
      manifest = await write(fixed);
      draft = fixed;
      step(`the ${tower} tower failed on two items at once (${(e as Error).message.split('\n')[0]}); it is run one item at a time`);
    } finally {
      await pack.close();
    }
  }
  const pack = await load();
  try {
    for (const tower of ['image', 'text'] as const) await encodeTower(pack, tower, 2);
  } finally {
    await pack.close();
  }
  return manifest;
}

/**
 * Lists the source, fetches what its layout needs into a staging folder (the graphs, then the weights
 * each graph names as its external data), splits a combined graph into towers, derives the manifest from
 * the repository's files, loads and runs the pack, and only then moves it into place (and, if asked,
 * points models/active at it). A failure at any step leaves the previous pack as it was; finished
 * downloads stay cached for the next try.
 */
export async function installPack(opts: InstallOptions): Promise<InstalledPack> {
  const step = opts.onStep ?? (() => undefined);
  step(`listing ${opts.source.label}`);
  const files = await opts.source.list();
  let companion: (Companion & { source: PackSource }) | null = null;
  if (detectLayout(files) === 'cn-clip' && CN_CLIP_EXTRAS.some((n) => !files.some((f) => f.path === n)) && opts.companion) {
    const chosen = opts.companion(cnClipModelName(files));
    step(`listing ${chosen.label} for cn_clip's vocabulary and preprocessing`);
    companion = { ...chosen, files: await chosen.source.list() };
  }
  const plan = planInstall(files, opts.variant, opts.repo, companion);
  step(`layout ${plan.layout}, variant ${opts.variant}: ${plan.files.length} files, ${(plan.files.reduce((s, f) => s + f.file.size, 0) / 1e6).toFixed(1)} MB before external data`);

  opts.onPlan?.(plan.files.reduce((s, f) => s + f.file.size, 0));
  await mkdir(opts.modelsDir, { recursive: true });
  const staging = await mkdtemp(path.join(opts.modelsDir, '.staging-'));
  try {
    for (const { file, companion: fromCompanion } of plan.files) {
      await (fromCompanion ? companion!.source : opts.source).fetch(file, path.join(staging, file.path), opts.onProgress);
    }
    // The weights a graph keeps outside it, as the graph itself names them.
    const external: SourceFile[] = [];
    for (const graph of plan.graphs) {
      for (const wanted of await externalDataOf(path.join(staging, graph), graph)) {
        const file = files.find((f) => f.path === wanted);
        if (!file) throw new ModelInstallError(`${graph} keeps its weights in ${wanted}, which ${opts.repo} does not have`);
        if (!external.includes(file)) external.push(file);
      }
    }
    opts.onPlan?.(external.reduce((s, f) => s + f.size, 0));
    if (external.length) step(`external data: ${external.length} file(s), ${(external.reduce((s, f) => s + f.size, 0) / 1e6).toFixed(1)} MB`);
    for (const file of external) await opts.source.fetch(file, path.join(staging, file.path), opts.onProgress);
    if (plan.combined) {
      step(`splitting ${plan.combined} into an image tower and a text tower`);
      const combined = path.join(staging, plan.combined);
      const [image, text] = await splitCombinedGraph(combined, [
        { output: 'image_embeds', allowedInputs: ['pixel_values'], file: path.join(staging, plan.image) },
        { output: 'text_embeds', allowedInputs: ['input_ids', 'attention_mask', 'token_type_ids'], file: path.join(staging, plan.text) },
      ]);
      step(`image tower: ${image!.nodes} nodes reading ${image!.inputs.join(', ')}; text tower: ${text!.nodes} nodes reading ${text!.inputs.join(', ')}`);
      await rm(combined);
    }
    const fetched = [...plan.files.map((f) => f.file), ...external];
    const name = `${opts.repo.split('/').pop()!.toLowerCase().replace(/[^a-z0-9._-]+/g, '-')}${opts.variant === 'fp32' ? '' : `-${opts.variant}`}`;
    // Content-addressed: the same files give the same key, new weights a new one (and a reindex).
    const version = createHash('sha256')
      .update(fetched.map((f) => `${f.path}:${f.sha256 ?? f.gitOid ?? f.size}`).join('\n'))
      .digest('hex')
      .slice(0, 12);
    const draft = await manifestFromRepo({
      dir: staging,
      plan,
      name,
      version,
      description: `${opts.repo} (${plan.layout}, ${opts.variant}), installed by models:fetch`,
      source: { repo: opts.repo, revision: opts.source.revision ?? opts.revision, variant: opts.variant },
      companion: companion?.label,
    });
    step('loading the pack and encoding two texts and two images');
    const manifest = await smokeTest(staging, draft, (d) => writeManifest(staging, d, external.map((f) => f.path)), step);
    const dir = path.join(opts.modelsDir, name);
    const old = `${dir}.old-${process.pid}`;
    if (await exists(dir)) await rename(dir, old);
    await rename(staging, dir);
    await rm(old, { recursive: true, force: true });
    if (opts.activate) await pointLink(path.join(opts.modelsDir, ACTIVE_LINK), name);
    return { dir, manifest };
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    if (e instanceof ModelInstallError) throw e;
    throw new ModelInstallError(`installing ${opts.repo} failed: ${(e as Error).message}`);
  }
}
