import path from 'node:path';
import { z } from 'zod';
import { ModelInstallError } from '../models/install/errors';
import { fetchEnvSchema, hubSources } from '../models/install/fetchSettings';
import { CAPTIONER_DTYPES } from './captionerLayouts';
import type { CaptionerInstallOptions, CaptionerSource } from './installCaptioner';

/**
 * The captioner packs `models:fetch -- --captioner [name]` knows. vit-gpt2 is the fast CPU chain: an
 * English captioner, then Marian English→Chinese; Florence-2 is a better English captioner in the same
 * chain; Qwen2-VL writes Chinese itself (a GPU box's model). MODELS_CAPTIONER may also name any repository.
 */
export const CAPTIONER_PRESETS = {
  'vit-gpt2': { caption: 'Xenova/vit-gpt2-image-captioning', translate: 'Xenova/opus-mt-en-zh', dtype: 'q8' },
  florence2: { caption: 'onnx-community/Florence-2-base-ft', translate: 'Xenova/opus-mt-en-zh', dtype: 'q8' },
  'qwen2-vl': { caption: 'onnx-community/Qwen2-VL-2B-Instruct', translate: null, dtype: 'q4' },
} as const satisfies Record<string, { caption: string; translate: string | null; dtype: string }>;

export const DEFAULT_CAPTIONER = 'vit-gpt2';

const repoId = z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'owner/name');

const captionerEnvSchema = z.object({
  /** A preset name, or a captioning model's repository. */
  MODELS_CAPTIONER: z.string().trim().min(1).default(DEFAULT_CAPTIONER),
  MODELS_CAPTIONER_DTYPE: z.enum(CAPTIONER_DTYPES).optional(),
  /** The English→Chinese translator for a captioner that writes English; "none" for a captioner that writes Chinese. */
  MODELS_TRANSLATOR: z.union([repoId, z.literal('none')]).optional(),
  MODELS_CAPTIONER_MAX_TOKENS: z.coerce.number().int().min(4).max(256).default(32),
});

/** `npm run models:fetch -- --captioner [name]`: the preset (or MODELS_CAPTIONER) and the hub settings of models:fetch. */
export function captionerOptionsFromEnv(env: NodeJS.ProcessEnv, name?: string): Omit<CaptionerInstallOptions, 'onProgress' | 'onStep'> {
  const parsed = captionerEnvSchema.extend(fetchEnvSchema.shape).safeParse({ ...env, ...(name ? { MODELS_CAPTIONER: name } : {}) });
  if (!parsed.success) throw new ModelInstallError(`invalid models:fetch --captioner settings:\n${z.prettifyError(parsed.error)}`);
  const s = parsed.data;
  const preset = CAPTIONER_PRESETS[s.MODELS_CAPTIONER as keyof typeof CAPTIONER_PRESETS] as
    (typeof CAPTIONER_PRESETS)[keyof typeof CAPTIONER_PRESETS] | undefined;
  if (!preset && !repoId.safeParse(s.MODELS_CAPTIONER).success)
    throw new ModelInstallError(
      `unknown captioner "${s.MODELS_CAPTIONER}": name one of ${Object.keys(CAPTIONER_PRESETS).join(', ')}, or a repository (owner/name)`,
    );
  const caption = preset?.caption ?? s.MODELS_CAPTIONER;
  const translate = s.MODELS_TRANSLATOR === 'none' ? null : (s.MODELS_TRANSLATOR ?? preset?.translate ?? null);
  const dtype = s.MODELS_CAPTIONER_DTYPE ?? preset?.dtype ?? 'fp32';
  const modelsDir = path.resolve(s.MODELS_DIR);
  const hub = hubSources(s, modelsDir);
  const models: CaptionerSource[] = [{ role: 'caption', repo: caption, source: hub(caption, s.MODELS_REVISION) }];
  if (translate) models.push({ role: 'translate', repo: translate, source: hub(translate, 'main', 'the translator (MODELS_TRANSLATOR)') });
  const base = preset
    ? s.MODELS_CAPTIONER
    : caption
        .split('/')
        .pop()!
        .toLowerCase()
        .replace(/[^a-z0-9._-]+/g, '-');
  return { name: `${base}-${dtype}`, models, dtype, maxNewTokens: s.MODELS_CAPTIONER_MAX_TOKENS, modelsDir, activate: s.MODELS_ACTIVATE };
}
