/**
 * npm run bench:ann — the ANN figures alone (also part of npm run bench): BENCH_ANN_SIZES (1000000), usearch f32
 * beside them up to BENCH_ANN_COMPARE_MAX (100000). Written to bench/ann-results.json and bench/ann-results.md.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { annMarkdown, benchAnn } from './ann';
import { envNumber } from './harness';
import { writeBenchResults } from './stats';

void (async () => {
  const started = new Date().toISOString();
  const sizes = (process.env.BENCH_ANN_SIZES ?? '1000000').split(',').map(Number).filter(Boolean);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'imagesearch-ann-'));
  const log = (msg: string) => console.error(`[bench:ann ${new Date().toISOString().slice(11, 19)}] ${msg}`);
  try {
    const ann = benchAnn(sizes, envNumber('BENCH_ANN_COMPARE_MAX', 100_000), dir, log);
    await writeBenchResults(
      'ann',
      'ANN benchmark (cosine, synthetic clustered 512-d vectors, single-query search)',
      'npm run bench:ann',
      started,
      { ann },
      annMarkdown(ann),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
})().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
