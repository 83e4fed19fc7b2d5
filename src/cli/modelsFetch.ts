/**
 * npm run models:fetch — installs a real model pack and makes it the one `npm start` uses.
 * With no settings: Chinese-CLIP ViT-B/16 (fp32) from Xenova/chinese-clip-vit-base-patch16.
 * MODELS_VARIANT=fp16|quantized, MODELS_REPO=owner/name (any supported layout), MODELS_SOURCE=folder,
 * MODELS_ENDPOINT=mirror URL, HF_TOKEN for gated repositories. See docs/model-packs.md.
 */
import { ModelInstallError } from '../models/install/errors';
import { installOptionsFromEnv } from '../models/install/fetchSettings';
import { installPack } from '../models/install/installPack';
import { packKey } from '../models/manifest';

const mb = (n: number) => (n / 1e6).toFixed(1);

async function main(): Promise<void> {
  const opts = installOptionsFromEnv(process.env);
  const started = new Map<string, number>();
  const installed = await installPack({
    ...opts,
    onStep: (m) => console.error(`models:fetch: ${m}`),
    onProgress: ({ file, received, total }) => {
      const t0 = started.get(file) ?? (started.set(file, Date.now()), Date.now());
      const secs = Math.max((Date.now() - t0) / 1000, 0.001);
      console.error(`  ${file}: ${mb(received)}/${mb(total)} MB (${((100 * received) / Math.max(total, 1)).toFixed(0)}%) ${mb(received / secs)} MB/s`);
    },
  });
  console.log(`installed ${packKey(installed.manifest)} in ${installed.dir}${opts.activate ? '; npm start now uses it' : ''}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof ModelInstallError ? `models:fetch: ${e.message}` : e);
  process.exit(1);
});
