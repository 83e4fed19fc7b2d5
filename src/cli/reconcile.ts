/**
 * npm run reconcile            report differences between Postgres and the vector store
 * npm run reconcile -- --fix   repair them: delete orphan points, re-embed what is missing or stale
 *
 * Exit code: 0 when consistent (or repaired), 1 when differences were found and not fixed.
 */
import { parseArgs } from 'node:util';
import { isClean } from '../library/consistency';
import { runMain } from './runMain';
import { cliConfig, withServices } from './services';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { fix: { type: 'boolean', default: false } } });
  return withServices(cliConfig(), async (s) => {
    const report = await s.reconcile(values.fix);
    const { reindexJobId, ...found } = report;
    const summary = Object.fromEntries(Object.entries(found).map(([k, v]) => [k, v.length]));
    if (reindexJobId) await s.ingest.runJob(reindexJobId);
    console.log(JSON.stringify({ ...summary, fixed: values.fix, reindexJobId }));
    return isClean(report) || values.fix ? 0 : 1;
  });
}

runMain(main);
