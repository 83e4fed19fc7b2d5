/**
 * npm run ingest -- <folder> [--owner NAME] [--album NAME]...   ingest a folder
 * npm run ingest -- --resume <jobId>                            finish an interrupted job
 * npm run ingest -- --ocr-backfill [--owner NAME]               OCR images ingested while it was off
 *
 * Runs in-process with the same configuration as the service (DATABASE_URL, QDRANT_URL,
 * MODEL_DIR, DATA_DIR...). With the embedded index, stop the service first or use its admin API:
 * only one process may write the index. With Qdrant, a running service leaves the CLI's job to it
 * (the job is leased to the CLI) and takes it over if the CLI is killed.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SingleBar, Presets } from 'cli-progress';
import { cliConfig, startServices } from './services';
import { createLogger } from '../util/logger';
import { runMain } from './runMain';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      owner: { type: 'string', default: 'default' },
      album: { type: 'string', multiple: true, default: [] },
      resume: { type: 'string' },
      'ocr-backfill': { type: 'boolean', default: false },
      'no-progress': { type: 'boolean', default: false },
    },
  });
  const backfill = values['ocr-backfill'];
  if (!values.resume && !backfill && positionals.length !== 1) {
    console.error('usage: npm run ingest -- <folder> [--owner NAME] [--album NAME]...  |  --resume <jobId>  |  --ocr-backfill [--owner NAME]');
    return 2;
  }
  const config = cliConfig();
  // Folders given on the command line are the operator's own choice: the folder itself is the root.
  if (positionals[0]) config.ingestRoots = [...config.ingestRoots, path.resolve(positionals[0])];
  const log = createLogger(config.LOG_LEVEL, config.LOG_FORMAT);
  const services = await startServices(config, log);
  try {
    const ownerGiven = process.argv.includes('--owner');
    const jobId =
      values.resume ??
      (backfill
        ? await services.ingest.createOcrBackfillJob(ownerGiven ? values.owner : undefined, { runHere: true })
        : await services.ingest.createFolderJob(values.owner, positionals[0]!, values.album, { runHere: true }));
    if (!jobId) {
      console.log(JSON.stringify({ jobId: null, message: 'every image has been read already' }));
      return 0;
    }
    const before = await services.ingest.status(jobId);
    if (!before) throw new Error(`job ${jobId} not found`);
    const bar = new SingleBar(
      {
        format: 'ingest |{bar}| {value}/{total} | {rate} img/s | ETA {eta_formatted} | done {done} skipped {skipped} failed {failed}',
        hideCursor: true,
        noTTYOutput: !values['no-progress'],
        notTTYSchedule: 2000,
      },
      Presets.shades_classic,
    );
    const counts = { done: before.done, skipped: before.skipped, failed: before.failed };
    const start = Date.now();
    let processed = 0;
    if (!values['no-progress']) bar.start(before.total, before.total - before.pending, { ...counts, rate: '0.0' });
    await services.ingest.runJob(jobId, (d) => {
      counts.done += d.done ?? 0;
      counts.skipped += d.skipped ?? 0;
      counts.failed += d.failed ?? 0;
      processed += (d.done ?? 0) + (d.skipped ?? 0) + (d.failed ?? 0);
      if (!values['no-progress'])
        bar.update(before.total - before.pending + processed, { ...counts, rate: (processed / ((Date.now() - start) / 1000 || 1)).toFixed(1) });
    });
    bar.stop();
    // OCR reads the new images after their vectors are stored; the CLI finishes that before it exits.
    await services.ocr?.idle();
    const after = await services.ingest.status(jobId);
    console.log(
      JSON.stringify({
        jobId,
        state: after?.state,
        total: after?.total,
        done: after?.done,
        skipped: after?.skipped,
        failed: after?.failed,
        errors: after?.errors.slice(0, 5),
      }),
    );
    return after?.failed ? 1 : 0;
  } finally {
    await services.close();
  }
}

runMain(main);
