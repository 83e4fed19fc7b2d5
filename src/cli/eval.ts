/**
 * npm run eval -- <dataset> [--split valid] [--pack DIR]... [--texts-in traditional|simplified] [--out DIR]
 *
 * Text-to-image and image-to-text Recall@1/5/10 through the real service (ingest, vector store,
 * search), next to exact search over the same pack. Several --pack options compare packs (e.g. fp32
 * and quantized) on the same dataset in one run; --texts-in converts the dataset's texts to one Chinese
 * script first. Writes eval-results.json and eval-results.md.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { tempDirForCluster } from '../db/localPostgres';
import { loadDataset, withTextsIn } from '../eval/datasets';
import { CHINESE_SCRIPTS, type ChineseScript } from '../util/chineseScript';
import { evaluatePack, evaluationMarkdown, type PackEvaluation } from '../eval/runEval';
import { cliConfig, withServices } from './services';

export async function runEvaluation(
  datasetDir: string,
  opts: { split?: string | undefined; packs: string[]; out: string; textsIn?: ChineseScript | undefined; log?: (m: string) => void },
): Promise<PackEvaluation[]> {
  const log = opts.log ?? ((m: string) => console.error(`eval: ${m}`));
  const loaded = await loadDataset(path.resolve(datasetDir), opts.split);
  const dataset = opts.textsIn ? withTextsIn(loaded, opts.textsIn) : loaded;
  log(`${dataset.name}: ${dataset.images.length} images, ${dataset.texts.length} texts`);
  const results: PackEvaluation[] = [];
  for (const pack of opts.packs) {
    const dataDir = await tempDirForCluster('imagesearch-eval-');
    const config = cliConfig({ DATA_DIR: dataDir, MODEL_DIR: pack, INGEST_ROOTS: path.join(dataDir, 'inbox') });
    try {
      results.push(
        await withServices(config, (services) => {
          log(`pack ${services.pack.key}`);
          return evaluatePack(services, dataset, log);
        }),
      );
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }
  await mkdir(opts.out, { recursive: true });
  await writeFile(path.join(opts.out, 'eval-results.json'), `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(path.join(opts.out, 'eval-results.md'), evaluationMarkdown(results));
  return results;
}

if (require.main === module) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      split: { type: 'string' },
      pack: { type: 'string', multiple: true },
      'texts-in': { type: 'string' },
      out: { type: 'string', default: 'eval-out' },
    },
  });
  const textsIn = CHINESE_SCRIPTS.find((c) => c === values['texts-in']);
  if (positionals.length !== 1 || (values['texts-in'] !== undefined && !textsIn)) {
    console.error('usage: npm run eval -- <dataset folder> [--split valid] [--pack DIR]... [--texts-in traditional|simplified] [--out DIR]');
    process.exit(2);
  }
  const packs = values.pack?.length ? values.pack.map((p) => path.resolve(p)) : [cliConfig().modelDir];
  runEvaluation(positionals[0]!, { split: values.split, packs, textsIn, out: path.resolve(values.out) })
    .then((results) => console.log(evaluationMarkdown(results)))
    .catch((e: unknown) => {
      console.error(`eval: ${(e as Error).message}`);
      process.exit(1);
    });
}
