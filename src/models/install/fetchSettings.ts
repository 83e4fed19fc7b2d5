import path from 'node:path';
import { z } from 'zod';
import { ModelInstallError } from './errors';
import { HubSource } from './hubSource';
import { VARIANTS } from './layouts';
import { FolderSource, type PackSource } from './packSource';
import type { InstallOptions } from './installPack';

export const DEFAULT_REPO = 'Xenova/chinese-clip-vit-base-patch16';
/** cn_clip's own export ships no vocabulary; Chinese-CLIP's model repository has it. */
export const DEFAULT_VOCAB_REPO = 'OFA-Sys/chinese-clip-vit-base-patch16';

const optional = z
  .string()
  .optional()
  .transform((v) => (v && v.trim() ? v.trim() : undefined));

/** `npm run models:fetch` settings; with none set it installs Chinese-CLIP ViT-B/16 (fp32) from the hub. */
export const fetchEnvSchema = z.object({
  MODELS_REPO: z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'owner/name').default(DEFAULT_REPO),
  MODELS_VARIANT: z.enum(VARIANTS as [string, ...string[]]).default('fp32'),
  MODELS_REVISION: z.string().min(1).default('main'),
  MODELS_ENDPOINT: optional,
  HF_ENDPOINT: optional,
  HF_TOKEN: optional,
  MODELS_SOURCE: optional,
  MODELS_VOCAB_REPO: z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'owner/name').default(DEFAULT_VOCAB_REPO),
  MODELS_DIR: z.string().default('models'),
  MODELS_ACTIVATE: z.stringbool().default(true),
});

export type FetchEnv = z.infer<typeof fetchEnvSchema>;

export function installOptionsFromEnv(env: NodeJS.ProcessEnv): Omit<InstallOptions, 'onProgress' | 'onStep'> {
  const parsed = fetchEnvSchema.safeParse(env);
  if (!parsed.success) throw new ModelInstallError(`invalid models:fetch settings:\n${z.prettifyError(parsed.error)}`);
  const s = parsed.data;
  const modelsDir = path.resolve(s.MODELS_DIR);
  const endpoint = s.MODELS_ENDPOINT ?? s.HF_ENDPOINT ?? 'https://huggingface.co';
  const hub = (repo: string): PackSource => new HubSource({ endpoint, repo, revision: repo === s.MODELS_REPO ? s.MODELS_REVISION : 'main', cacheDir: path.join(modelsDir, '.downloads'), token: s.HF_TOKEN });
  const source = s.MODELS_SOURCE ? new FolderSource(path.resolve(s.MODELS_SOURCE)) : hub(s.MODELS_REPO);
  return {
    source,
    // A local folder names itself; the hub's repository id names the pack.
    repo: s.MODELS_SOURCE ? `local/${path.basename(path.resolve(s.MODELS_SOURCE))}` : s.MODELS_REPO,
    revision: s.MODELS_SOURCE ? 'local' : s.MODELS_REVISION,
    variant: s.MODELS_VARIANT as InstallOptions['variant'],
    companion: s.MODELS_SOURCE ? undefined : hub(s.MODELS_VOCAB_REPO),
    modelsDir,
    activate: s.MODELS_ACTIVATE,
  };
}
