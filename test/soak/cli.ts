/**
 * npm run soak -- --minutes 40 [--seed N] [--out bench/soak-results.md]
 *
 * The crash soak (test/soak/soak.ts) on this machine; exits 1 when anything was lost, resurrected or orphaned.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runSoak, writeSoakReport } from './soak';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '40' },
      seed: { type: 'string', default: String(Date.now() % 100_000) },
      out: { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
  });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'imagesearch-soak-'));
  // The local PostgreSQL runs as the postgres user when this runs as root.
  await import('node:fs/promises').then((fs) => fs.chmod(dir, 0o755));
  const started = Date.now();
  const report = await runSoak({
    minutes: Number(values.minutes),
    seed: Number(values.seed),
    dir,
    killEveryMs: [2_000, 8_000],
    pKill: 0.6,
    pPostgres: 0.25,
    pPostgresAlone: 0.15,
    workers: 3,
    log: (line) => console.log(`${((Date.now() - started) / 60_000).toFixed(1)} min  ${line}`),
  });
  console.log(JSON.stringify(report, null, 2));
  if (values.out) await writeSoakReport(report, values.out);
  if (!values.keep) await rm(dir, { recursive: true, force: true });
  else console.log(`kept ${dir}`);
  const bad =
    report.lost.images.length +
    report.lost.patches.length +
    report.resurrected.length +
    report.orphans.files.length +
    report.orphans.payloadDrift.length +
    Object.values(report.orphans.afterReconcile).reduce((a, b) => a + b, 0);
  return bad ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(2);
  },
);
