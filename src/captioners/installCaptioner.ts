import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { ModelInstallError } from '../models/install/errors';
import { pointLink } from '../models/install/installPack';
import type { FetchProgress, PackSource, SourceFile } from '../models/install/packSource';
import { languageOf } from '../search/captions';
import { captionerFiles, checkModelType, type CaptionerDtype, type CaptionerRole, type ModelConfig } from './captionerLayouts';
import { writeCaptionerManifest, type CaptionerManifest, type CaptionerModel } from './captionerManifest';
import { PackCaptioner } from './packCaptioner';

/** Captioner packs live apart from the image/text packs: models/captioners/<name>, and the `active` link. */
export const CAPTIONERS_DIR = 'captioners';

export function activeCaptionerDir(modelsDir: string): string {
  return path.join(modelsDir, CAPTIONERS_DIR, 'active');
}

export interface CaptionerSource {
  role: CaptionerRole;
  repo: string;
  source: PackSource;
}

export interface CaptionerInstallOptions {
  name: string;
  /** The captioning model, then (for a pack that writes English) the translator to Chinese. */
  models: readonly CaptionerSource[];
  dtype: CaptionerDtype;
  maxNewTokens: number;
  modelsDir: string;
  activate: boolean;
  onProgress?: (p: FetchProgress) => void;
  onStep?: (message: string) => void;
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

/** A plain photo-sized image: the smoke test captions it, as the service would a preview. */
async function sampleImage(dir: string): Promise<string> {
  const file = path.join(dir, 'smoke-test.png');
  await sharp({ create: { width: 96, height: 64, channels: 3, background: { r: 220, g: 30, b: 30 } } })
    .png()
    .toFile(file);
  return file;
}

/**
 * Installs a captioner pack with the guarantees of the image/text packs: each repository is listed
 * through the hub's API and pinned to that commit, its config.json read first (a model of the wrong type
 * stops the install before any graph is fetched), then the files transformers.js opens for the dtype
 * are fetched with progress, resume and checksums into a staging folder; the pack is loaded and captions
 * one image (in Chinese, when a translator is part of it), and only then moved into place and, if asked,
 * made active. Any failure leaves the previous pack as it was.
 */
export async function installCaptioner(opts: CaptionerInstallOptions): Promise<{ dir: string; manifest: CaptionerManifest; sample: string }> {
  const step = opts.onStep ?? (() => undefined);
  const root = path.join(opts.modelsDir, CAPTIONERS_DIR);
  await mkdir(root, { recursive: true });
  const staging = await mkdtemp(path.join(root, '.staging-'));
  try {
    const models: CaptionerModel[] = [];
    const fetched: SourceFile[] = [];
    for (const { role, repo, source } of opts.models) {
      step(`listing ${source.label}`);
      const listing = await source.list();
      const configFile = listing.find((f) => f.path === 'config.json');
      if (!configFile) throw new ModelInstallError(`${repo} has no config.json: it is not a transformers.js model repository`);
      const dir = path.join(staging, role);
      await source.fetch(configFile, path.join(dir, 'config.json'), opts.onProgress);
      const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as ModelConfig;
      const modelType = checkModelType(config, role, repo);
      const files = await captionerFiles(listing, config, opts.dtype, repo);
      step(
        `${role}: ${repo} (${modelType}, ${opts.dtype}): ${files.length + 1} files, ${(files.reduce((s, f) => s + f.size, configFile.size) / 1e6).toFixed(1)} MB`,
      );
      for (const file of files) await source.fetch(file, path.join(dir, file.path), opts.onProgress);
      models.push({ role, dir: role, repo, revision: source.revision ?? 'main', modelType, dtype: opts.dtype });
      fetched.push(...[configFile, ...files].map((f) => ({ ...f, path: `${role}/${f.path}` })));
    }
    const version = createHash('sha256')
      .update(fetched.map((f) => `${f.path}:${f.sha256 ?? f.gitOid ?? f.size}`).join('\n'))
      .digest('hex')
      .slice(0, 12);
    const translates = models.some((m) => m.role === 'translate');
    const manifest: CaptionerManifest = {
      name: opts.name,
      version,
      models,
      language: translates ? 'zh' : 'en',
      maxNewTokens: opts.maxNewTokens,
      files: fetched.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256, gitOid: f.gitOid })),
    };
    step('loading the pack and captioning one image');
    const captioner = new PackCaptioner({ model: opts.name, dir: staging, models, maxNewTokens: opts.maxNewTokens }, null);
    const made = await captioner.describe(await sampleImage(staging));
    if (translates && languageOf(made.text) !== 'zh') throw new ModelInstallError(`the translator wrote "${made.text}" for "${made.original}", not Chinese`);
    manifest.language = languageOf(made.text) === 'zh' ? 'zh' : 'en';
    step(`it wrote: ${made.text}${made.original ? ` (from "${made.original}")` : ''}`);
    await rm(path.join(staging, 'smoke-test.png'));
    await writeCaptionerManifest(staging, manifest);
    const dir = path.join(root, opts.name);
    const old = `${dir}.old-${process.pid}`;
    if (await exists(dir)) await rename(dir, old);
    await rename(staging, dir);
    await rm(old, { recursive: true, force: true });
    if (opts.activate) await pointLink(path.join(root, 'active'), opts.name);
    return { dir, manifest, sample: made.text };
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    if (e instanceof ModelInstallError) throw e;
    throw new ModelInstallError(`installing the captioner ${opts.name} failed: ${(e as Error).message}`);
  }
}
