/**
 * npm run loadtest — concurrent searches against an in-process service on loopback while an
 * ingest runs; bounded by LOAD_MAX_REQUESTS (2000) and LOAD_MAX_SECONDS (30). Exits 1 on any error.
 */
import { createHarness } from './harness';
import { runLoad } from './load';
import { runMain } from '../src/cli/runMain';

async function main(): Promise<number> {
  const h = await createHarness();
  try {
    const pack = h.packs[0]!;
    const s = await h.start(pack, { ADMIN_API_KEY: 'load', RATE_LIMIT_PER_MINUTE: '1000000' });
    try {
      const result = await runLoad(s, 'load', {
        concurrency: Number(process.env.LOAD_CONCURRENCY ?? 8),
        maxRequests: Number(process.env.LOAD_MAX_REQUESTS ?? 2000),
        maxSeconds: Number(process.env.LOAD_MAX_SECONDS ?? 30),
        ingestImages: Number(process.env.LOAD_INGEST_IMAGES ?? 100),
        workDir: h.root,
      });
      console.log(JSON.stringify({ model: pack.label, ...result }, null, 2));
      return result.errors === 0 ? 0 : 1;
    } finally {
      await s.close();
    }
  } finally {
    await h.close();
  }
}

runMain(main);
