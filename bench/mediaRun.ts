/**
 * npm run bench:media — videos, near-duplicates (also part of npm run bench), written to
 * bench/media-results.json and bench/media-results.md. Sizes via env: BENCH_DUP_BASES (20), BENCH_DUP_DISTINCT (40).
 */
import { envNumber, runStandaloneBench } from './harness';
import { benchDuplicates, benchVideo, mediaMarkdown } from './media';
import { writeBenchResults } from './stats';

if (require.main === module)
  runStandaloneBench(async (h, started) => {
    const pack = h.packs[0]!;
    const results = {
      video: await benchVideo(h, pack),
      duplicates: await benchDuplicates(h, pack, { bases: envNumber('BENCH_DUP_BASES', 20), distinct: envNumber('BENCH_DUP_DISTINCT', 40) }),
    };
    await writeBenchResults('media', 'Media benchmark', 'npm run bench:media', started, results, mediaMarkdown(results));
  });
