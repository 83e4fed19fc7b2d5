/**
 * npm run bench:media — videos, near-duplicates (also part of npm run bench), written to
 * bench/media-results.json and bench/media-results.md. Sizes via env: BENCH_DUP_BASES (20), BENCH_DUP_DISTINCT (40).
 */
import { createHarness } from './harness';
import { benchDuplicates, benchVideo, mediaMarkdown } from './media';
import { writeBenchResults } from './stats';

const num = (name: string, def: number) => Number(process.env[name] ?? def);

async function main(): Promise<void> {
  const h = await createHarness();
  try {
    const started = new Date().toISOString();
    const pack = h.packs[0]!;
    const results = {
      video: await benchVideo(h, pack),
      duplicates: await benchDuplicates(h, pack, { bases: num('BENCH_DUP_BASES', 20), distinct: num('BENCH_DUP_DISTINCT', 40) }),
    };
    await writeBenchResults('media', 'Media benchmark', 'npm run bench:media', started, results, mediaMarkdown(results));
  } finally {
    await h.close();
  }
}

if (require.main === module)
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
