import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ModelInstallError } from './errors';
import { HubSource } from './hubSource';
import type { CompanionFor, InstallOptions } from './installPack';
import { VARIANTS } from './layouts';
import { FolderSource, type PackSource } from './packSource';

export const DEFAULT_REPO = 'Xenova/chinese-clip-vit-base-patch16';
/** cn_clip's own export ships no vocabulary; Chinese-CLIP's model repository of the same size has it. */
export const DEFAULT_VOCAB_REPO = 'OFA-Sys/chinese-clip-vit-base-patch16';
/** cn_clip's model names (its graph files' prefix) and the Chinese-CLIP repositories with their vocabulary and preprocessing. */
const CN_CLIP_VOCAB_REPOS: Record<string, string> = {
  'vit-b-16': 'OFA-Sys/chinese-clip-vit-base-patch16',
  'vit-l-14': 'OFA-Sys/chinese-clip-vit-large-patch14',
  'vit-l-14-336': 'OFA-Sys/chinese-clip-vit-large-patch14-336px',
  'vit-h-14': 'OFA-Sys/chinese-clip-vit-huge-patch14',
};

const optional = z
  .string()
  .optional()
  .transform((v) => (v && v.trim() ? v.trim() : undefined));
const repoId = z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'owner/name');

/** `npm run models:fetch` settings; with none set it installs Chinese-CLIP ViT-B/16 (fp32) from the hub. */
export const fetchEnvSchema = z.object({
  MODELS_REPO: repoId.default(DEFAULT_REPO),
  MODELS_VARIANT: z.enum(VARIANTS as [string, ...string[]]).default('fp32'),
  MODELS_REVISION: z.string().min(1).default('main'),
  MODELS_ENDPOINT: optional,
  HF_ENDPOINT: optional,
  HF_TOKEN: optional,
  /** The name huggingface_hub read before HF_TOKEN. */
  HUGGING_FACE_HUB_TOKEN: optional,
  /** Where `hf auth login` keeps the token: HF_TOKEN_PATH, else $HF_HOME/token (HF_HOME: ~/.cache/huggingface). */
  HF_TOKEN_PATH: optional,
  HF_HOME: optional,
  XDG_CACHE_HOME: optional,
  MODELS_SOURCE: optional,
  /** Unset: the Chinese-CLIP repository of the cn_clip model's size (vit-l-14-336 → OFA-Sys/chinese-clip-vit-large-patch14-336px). */
  MODELS_VOCAB_REPO: repoId.optional(),
  MODELS_DIR: z.string().default('models'),
  MODELS_ACTIVATE: z.stringbool().default(true),
});

export type FetchEnv = z.infer<typeof fetchEnvSchema>;

/** The hub token as huggingface_hub finds it: HF_TOKEN, HUGGING_FACE_HUB_TOKEN, then the file `hf auth login` wrote. */
export function hubToken(s: Pick<FetchEnv, 'HF_TOKEN' | 'HUGGING_FACE_HUB_TOKEN' | 'HF_TOKEN_PATH' | 'HF_HOME' | 'XDG_CACHE_HOME'>): string | undefined {
  if (s.HF_TOKEN) return s.HF_TOKEN;
  if (s.HUGGING_FACE_HUB_TOKEN) return s.HUGGING_FACE_HUB_TOKEN;
  const home = s.HF_HOME ?? path.join(s.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'huggingface');
  try {
    return readFileSync(s.HF_TOKEN_PATH ?? path.join(home, 'token'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Repositories on the hub (or mirror) the settings name, with their token; partial downloads kept in models/.downloads. */
export function hubSources(s: FetchEnv, modelsDir: string): (repo: string, revision: string, role?: string) => PackSource {
  const endpoint = s.MODELS_ENDPOINT ?? s.HF_ENDPOINT ?? 'https://huggingface.co';
  const token = hubToken(s);
  return (repo, revision, role) => new HubSource({ endpoint, repo, revision, cacheDir: path.join(modelsDir, '.downloads'), token, role });
}

export function installOptionsFromEnv(env: NodeJS.ProcessEnv): Omit<InstallOptions, 'onProgress' | 'onStep'> {
  const parsed = fetchEnvSchema.safeParse(env);
  if (!parsed.success) throw new ModelInstallError(`invalid models:fetch settings:\n${z.prettifyError(parsed.error)}`);
  const s = parsed.data;
  const modelsDir = path.resolve(s.MODELS_DIR);
  const hub = hubSources(s, modelsDir);
  const source = s.MODELS_SOURCE ? new FolderSource(path.resolve(s.MODELS_SOURCE)) : hub(s.MODELS_REPO, s.MODELS_REVISION);
  // Asked only when a cn_clip export lacks its vocabulary or preprocessing, for a local folder as for the hub.
  const companion: CompanionFor = (model) => {
    const repo = s.MODELS_VOCAB_REPO ?? (model && CN_CLIP_VOCAB_REPOS[model]) ?? DEFAULT_VOCAB_REPO;
    const label = `${repo} (${s.MODELS_VOCAB_REPO ? 'MODELS_VOCAB_REPO' : `the vocabulary repository for ${model ?? 'cn_clip'}; MODELS_VOCAB_REPO to change`})`;
    return { source: hub(repo, 'main', label.slice(repo.length + 2, -1)), label };
  };
  return {
    source,
    // A local folder names itself; the hub's repository id names the pack.
    repo: s.MODELS_SOURCE ? `local/${path.basename(path.resolve(s.MODELS_SOURCE))}` : s.MODELS_REPO,
    revision: s.MODELS_SOURCE ? 'local' : s.MODELS_REVISION,
    variant: s.MODELS_VARIANT as InstallOptions['variant'],
    companion,
    modelsDir,
    activate: s.MODELS_ACTIVATE,
  };
}
