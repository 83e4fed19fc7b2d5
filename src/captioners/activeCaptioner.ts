import { existsSync } from 'node:fs';
import { activeCaptionerDir } from './installCaptioner';
import { readCaptionerManifestSync } from './captionerManifest';
import { PackCaptioner } from './packCaptioner';
import type { Config } from '../config/env';
import type { DerivativeStore } from '../images/derivativeStore';

/**
 * The captioning model: CAPTION_MODEL_DIR (an image-to-text model folder) when set, else the captioner
 * pack models:fetch --captioner installed (models/captioners/active), else none. Without derivatives (a pull
 * worker) it captions files it is given, not stored images.
 */
export function captionerFromConfig(config: Config, derivatives: DerivativeStore | null): PackCaptioner | null {
  if (config.CAPTION_MODEL_DIR) {
    const name = config.CAPTION_MODEL_DIR.split(/[\\/]/).filter(Boolean).pop() ?? 'model';
    const models = [{ role: 'caption' as const, dir: '.', dtype: 'fp32' as const }];
    return new PackCaptioner({ model: `generative:${name}`, dir: config.CAPTION_MODEL_DIR, models, maxNewTokens: 32 }, derivatives);
  }
  const dir = activeCaptionerDir(config.modelsDir);
  if (!existsSync(dir)) return null;
  const m = readCaptionerManifestSync(dir);
  return new PackCaptioner({ model: `captioner:${m.name}@${m.version}`, dir, models: m.models, maxNewTokens: m.maxNewTokens }, derivatives);
}
