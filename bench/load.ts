import path from 'node:path';
import type { Services } from '../src/cli/services';
import { writePhotoLikeJpegs } from './fixtures';
import { listen, searchOnce } from './query';
import { round, summarize } from './stats';

export interface LoadOptions {
  concurrency: number;
  /** Hard bounds: whichever comes first ends the test. */
  maxRequests: number;
  maxSeconds: number;
  ingestImages: number;
  workDir: string;
}

const QUERIES = ['红色的花', '海边', '城市', '猫', '山', '夜晚', '蓝天白云', '汽车'];

/**
 * Concurrent searches over loopback while an ingest job runs in the same service.
 * Bounded in count and time; reports errors (expected 0), latency percentiles and requests/s.
 */
export async function runLoad(s: Services, adminKey: string, opts: LoadOptions) {
  const server = await listen(s);
  if (!/^http:\/\/127\.0\.0\.1:/.test(server.url)) throw new Error('load tests only target loopback');
  try {
    const dir = path.join(opts.workDir, 'load-photos');
    await writePhotoLikeJpegs(dir, opts.ingestImages, 800, 600, 5);
    const job = await s.ingest.createFolderJob('load', dir);
    const ingest = s.ingest.runJob(job);
    const latencies: number[] = [];
    const errors: string[] = [];
    let sent = 0;
    const deadline = Date.now() + opts.maxSeconds * 1000;
    const start = performance.now();
    const worker = async () => {
      while (sent < opts.maxRequests && Date.now() < deadline) {
        const i = sent++;
        const t0 = performance.now();
        try {
          const status = await searchOnce(server.url, adminKey, `${QUERIES[i % QUERIES.length]} ${i % 50}`);
          if (status !== 200) errors.push(`HTTP ${status}`);
        } catch (e) {
          errors.push((e as Error).message);
        }
        latencies.push(performance.now() - t0);
      }
    };
    await Promise.all(Array.from({ length: opts.concurrency }, worker));
    const seconds = (performance.now() - start) / 1000;
    await ingest;
    const status = await s.ingest.status(job);
    return {
      concurrency: opts.concurrency,
      requests: latencies.length,
      errors: errors.length,
      errorSamples: [...new Set(errors)].slice(0, 5),
      requestsPerSec: round(latencies.length / seconds, 1),
      latencyMs: summarize(latencies),
      ingestDuringLoad: { images: opts.ingestImages, done: status?.done ?? 0, failed: status?.failed ?? 0 },
    };
  } finally {
    await server.close();
  }
}
