import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readlink, rename, rm, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { encodeOnce, loadModelPack } from '../modelPack';
import { writeManifest, type ModelManifest } from '../manifest';
import { ModelInstallError } from './errors';
import { planInstall, type Variant } from './layouts';
import { manifestFromRepo } from './manifestFromRepo';
import { splitCombinedGraph } from './onnxSplit';
import type { FetchProgress, PackSource } from './packSource';

/** The link `npm start` follows when MODEL_DIR is unset. */
export const ACTIVE_LINK = 'active';

export interface InstallOptions {
  source: PackSource;
  /** Repository id (owner/name), for the pack's name and the layouts that depend on it. */
  repo: string;
  revision: string;
  variant: Variant;
  /** cn_clip's export has no vocabulary: it comes from this repository. */
  companion?: PackSource | undefined;
  modelsDir: string;
  /** Make this pack the one `npm start` uses (models/active). */
  activate: boolean;
  onProgress?: (p: FetchProgress) => void;
  onStep?: (message: string) => void;
}

export interface InstalledPack {
  dir: string;
  manifest: ModelManifest;
}

const exists = (p: string) => stat(p).then(() => true, () => false);

/** Replaces `link` atomically, so a reader sees the old target or the new one, never none. */
async function pointLink(link: string, target: string): Promise<void> {
  const tmp = `${link}.${process.pid}.tmp`;
  await rm(tmp, { force: true });
  await symlink(target, tmp);
  await rename(tmp, link);
}

export async function activePackTarget(modelsDir: string): Promise<string | undefined> {
  return readlink(path.join(modelsDir, ACTIVE_LINK)).catch(() => undefined);
}

/**
 * Lists the source, fetches what its layout needs into a staging folder, splits a combined graph
 * into towers, derives the manifest from the repository's files, loads and runs the pack once, and
 * only then moves it into place (and, if asked, points models/active at it). A failure at any step
 * leaves the previous pack as it was; finished downloads stay cached for the next try.
 */
export async function installPack(opts: InstallOptions): Promise<InstalledPack> {
  const step = opts.onStep ?? (() => undefined);
  step(`listing ${opts.source.label}`);
  const files = await opts.source.list();
  const companionFiles = opts.companion && files.every((f) => f.path !== 'vocab.txt') ? await opts.companion.list().catch(() => []) : [];
  const plan = planInstall(files, opts.variant, opts.repo, companionFiles);
  step(`layout ${plan.layout}, variant ${opts.variant}: ${plan.files.length} files, ${(plan.files.reduce((s, f) => s + f.file.size, 0) / 1e6).toFixed(1)} MB`);

  await mkdir(opts.modelsDir, { recursive: true });
  const staging = await mkdtemp(path.join(opts.modelsDir, '.staging-'));
  try {
    for (const { file, companion } of plan.files) {
      const from = companion ? opts.companion! : opts.source;
      await from.fetch(file, path.join(staging, file.path), opts.onProgress);
    }
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
    const name = `${opts.repo.split('/').pop()!.toLowerCase().replace(/[^a-z0-9._-]+/g, '-')}${opts.variant === 'fp32' ? '' : `-${opts.variant}`}`;
    // Content-addressed: the same files give the same key, new weights a new one (and a reindex).
    const version = createHash('sha256')
      .update(plan.files.map((f) => `${f.file.path}:${f.file.sha256 ?? f.file.gitOid ?? f.file.size}`).join('\n'))
      .digest('hex')
      .slice(0, 12);
    const draft = await manifestFromRepo({
      dir: staging,
      plan,
      name,
      version,
      description: `${opts.repo} (${plan.layout}, ${opts.variant}), installed by models:fetch`,
      source: { repo: opts.repo, revision: opts.revision, variant: opts.variant },
    });
    const graphs = new Set([plan.image, plan.text, plan.combined]);
    const external = plan.files.map((f) => f.file.path).filter((p) => !graphs.has(p) && /\.onnx[._]|\.extra_file$/.test(p));
    const manifest = await writeManifest(staging, draft, external);
    step('loading the pack and encoding one text and one image');
    const pack = await loadModelPack(staging, { batchSize: 1, intraOpThreads: 1, interOpThreads: 1, maxConcurrentRuns: 1, verifyChecksums: true });
    try {
      await encodeOnce(pack);
    } finally {
      await pack.close();
    }
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
