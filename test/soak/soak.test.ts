import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runSoak } from './soak';

/** The crash soak's short version (npm run soak -- --minutes 40 is the long one; bench/soak-results.md its report). */
describe('crash soak (short): kills of the service and its PostgreSQL while ingest, PATCH, deletes and purges run', () => {
  test('nothing acknowledged is lost, nothing deleted comes back, nothing is orphaned after reconcile', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imagesearch-soak-'));
    await chmod(dir, 0o755);
    try {
      const report = await runSoak({
        minutes: 1.5,
        seed: 20261206,
        dir,
        killEveryMs: [1_500, 4_000],
        pKill: 0.7,
        pPostgres: 0.35,
        pPostgresAlone: 0.2,
        workers: 3,
      });
      expect(report.kills.service).toBeGreaterThanOrEqual(3);
      expect(report.acknowledged.images).toBeGreaterThan(0);
      expect(report.acknowledged.resends).toBeGreaterThan(0);
      expect(report.acknowledged.deletes + report.acknowledged.bulkDeletes).toBeGreaterThan(0);
      expect(report.checks.deadReads).toBeGreaterThan(0);
      expect({
        lost: [...report.lost.images, ...report.lost.patches],
        resurrected: report.resurrected,
        afterReconcile: Object.values(report.orphans.afterReconcile).reduce((a, b) => a + b, 0),
        files: report.orphans.files,
        drift: report.orphans.payloadDrift,
      }).toEqual({ lost: [], resurrected: [], afterReconcile: 0, files: [], drift: [] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
