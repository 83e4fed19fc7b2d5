/**
 * npm run models:fetch — installs a real model pack and makes it the one `npm start` uses.
 * With no settings: Chinese-CLIP ViT-B/16 (fp32) from Xenova/chinese-clip-vit-base-patch16.
 * MODELS_VARIANT=fp16|quantized, MODELS_REPO=owner/name (any supported layout), MODELS_SOURCE=folder,
 * MODELS_ENDPOINT=mirror URL, HF_TOKEN for gated repositories. See docs/model-packs.md.
 *
 * npm run models:fetch -- --captioner [name] — installs a captioner pack instead (default vit-gpt2:
 * an English captioner and an English→Chinese translator); MODELS_CAPTIONER, MODELS_CAPTIONER_DTYPE,
 * MODELS_TRANSLATOR. The service captions with it from its next start.
 */
import { captionerOptionsFromEnv } from '../captioners/captionerSettings';
import { installCaptioner } from '../captioners/installCaptioner';
import { ModelInstallError } from '../models/install/errors';
import { installOptionsFromEnv } from '../models/install/fetchSettings';
import { installPack } from '../models/install/installPack';
import type { FetchProgress } from '../models/install/packSource';
import { packKey } from '../models/manifest';

const mb = (n: number) => (n / 1e6).toFixed(1);

function progressPrinter(): (p: FetchProgress) => void {
  const started = new Map<string, number>();
  return ({ file, received, total }) => {
    const t0 = started.get(file) ?? (started.set(file, Date.now()), Date.now());
    const secs = Math.max((Date.now() - t0) / 1000, 0.001);
    console.error(`  ${file}: ${mb(received)}/${mb(total)} MB (${((100 * received) / Math.max(total, 1)).toFixed(0)}%) ${mb(received / secs)} MB/s`);
  };
}

/** `--captioner` alone, or followed by a preset name or a repository. */
export function captionerArg(argv: readonly string[]): { name: string | undefined } | null {
  const at = argv.indexOf('--captioner');
  if (at < 0) return null;
  const next = argv[at + 1];
  return { name: next && !next.startsWith('--') ? next : undefined };
}

async function main(): Promise<void> {
  const onStep = (m: string) => console.error(`models:fetch: ${m}`);
  const captioner = captionerArg(process.argv.slice(2));
  if (captioner) {
    const opts = captionerOptionsFromEnv(process.env, captioner.name);
    const installed = await installCaptioner({ ...opts, onStep, onProgress: progressPrinter() });
    console.log(
      `installed the captioner ${installed.manifest.name}@${installed.manifest.version} in ${installed.dir}${opts.activate ? '; the service captions with it from its next start' : ''}`,
    );
    return;
  }
  const opts = installOptionsFromEnv(process.env);
  const installed = await installPack({ ...opts, onStep, onProgress: progressPrinter() });
  console.log(`installed ${packKey(installed.manifest)} in ${installed.dir}${opts.activate ? '; npm start now uses it' : ''}`);
}

if (require.main === module)
  main().catch((e: unknown) => {
    console.error(e instanceof ModelInstallError ? `models:fetch: ${e.message}` : e);
    process.exit(1);
  });
