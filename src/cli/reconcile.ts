/**
 * npm run reconcile            report differences between Postgres and the vector store
 * npm run reconcile -- --fix   repair them: delete orphan points, re-embed what is missing or stale
 *
 * Exit code: 0 when consistent (or repaired), 1 when differences were found and not fixed.
 */
import { parseArgs } from 'node:util';
import { isClean } from '../../ingest/reconcile';
import { startServices } from '../app/services';
import { loadConfig } from '../config/env';
import { createLogger } from '../util/logger';
import { runMain } from './runMain';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { fix: { type: 'boolean', default: false } } });
  const config = loadConfig({ ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' });
  const s = await startServices(config, createLogger(config.LOG_LEVEL, config.LOG_FORMAT));
  try {
    const report = await s.reconcile(values.fix);
    const summary = {
      missingVectors: report.missingVectors.length,
      orphanPoints: report.orphanPoints.length,
      staleModel: report.staleModel.length,
      stuckPending: report.stuckPending.length,
    };
    if (report.reindexJobId) await s.ingest.runJob(report.reindexJobId);
    console.log(JSON.stringify({ ...summary, fixed: values.fix, reindexJobId: report.reindexJobId }));
    return isClean(report) || values.fix ? 0 : 1;
  } finally {
    await s.close();
  }
}

runMain(main);
