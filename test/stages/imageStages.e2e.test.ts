import { writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { colourImage } from '../helpers/images';
import { startTestService, waitForJob, type TestService } from '../helpers/service';
import { until } from '../helpers/until';
import { ProbeStage } from './probeStage/probeStage';

const COLOURS = ['red', 'green', 'blue', 'yellow', 'purple', 'orange'];
const env = { OCR: 'off', DUPLICATES: 'off', STAGE_POLL_MS: '100' };

async function ingest(svc: TestService, owner: string, names: string[]): Promise<{ jobId: string; ids: string[] }> {
  const folder = path.join(svc.inbox, `${owner}-${names.join('-')}`);
  await import('node:fs/promises').then((fs) => fs.mkdir(folder, { recursive: true }));
  for (const [k, name] of names.entries()) await writeFile(path.join(folder, `${name}.png`), await colourImage(name, { seed: k + 1 }));
  const res = await svc.api().post('/v1/admin/ingest').send({ owner, folder });
  const status = await waitForJob(svc, res.body.jobId);
  expect(status.done).toBe(names.length);
  const rows = await svc.services.db.image.findMany({ where: { owner, deletedAt: null }, select: { id: true } });
  return { jobId: res.body.jobId, ids: rows.map((r) => r.id) };
}

const runsAt = (probe: ProbeStage, version: string) => probe.runs.filter((r) => r.version === version).map((r) => r.imageId);

describe('an image stage registered in one line', () => {
  test('runs over the library that was there and the images after it, across a restart mid-backfill and a dead holder, and again for a new version', async () => {
    const first = await startTestService(env);
    const { ids: before } = await ingest(first, 'ann', COLOURS.slice(0, 4));
    await first.close();
    const reuse = { database: first.database, dataDir: first.dataDir };

    // Backfill: the four images from before the stage; stopped after two have run.
    const slow = new ProbeStage('v1', 150);
    const second = await startTestService(env, reuse, { stages: [slow] });
    await until(() => slow.runs.length >= 2, 'two backfilled runs');
    await second.close();
    const doneBeforeRestart = runsAt(slow, 'v1');
    expect(doneBeforeRestart.length).toBeGreaterThanOrEqual(2);
    expect(doneBeforeRestart.length).toBeLessThan(4);
    // A crash of another process of this host left one task leased (its pid no longer runs).
    const leftover = before.find((id) => !doneBeforeRestart.includes(id))!;
    await first.services.db.$executeRaw`
      UPDATE stage_tasks SET lease_until = now() + interval '1 hour', leased_by = ${`${hostname()}:999999`} WHERE stage = 'probe' AND image_id = ${leftover}::uuid`;

    const probe = new ProbeStage('v1');
    const third = await startTestService(env, reuse, { stages: [probe] });
    try {
      await third.services.stages.idle();
      // Every image once, none twice: what was done before the restart is not done again.
      expect([...doneBeforeRestart, ...runsAt(probe, 'v1')].sort()).toEqual([...before].sort());

      // New images: queued as they are stored; the job's status counts them.
      const { jobId, ids: after } = await ingest(third, 'bea', COLOURS.slice(4));
      expect(
        runsAt(probe, 'v1')
          .filter((id) => after.includes(id))
          .sort(),
      ).toEqual([...after].sort());
      const status = await third.api().get(`/v1/admin/jobs/${jobId}`).expect(200);
      expect(status.body.stages.probe).toEqual({ pending: 0, done: 2, failed: 0 });

      // A new version (its model changed): every image again, once.
      probe.currentVersion = 'v2';
      third.services.stages.wake();
      await until(async () => (await third.services.stages.counts()).probe!.done === 6 && runsAt(probe, 'v2').length === 6, 'v2 over all six');
      expect(new Set(runsAt(probe, 'v2')).size).toBe(6);
    } finally {
      await third.close();
    }
  }, 120_000);

  test('retries a failing image with backoff, gives a broken one up with its reason, and never runs a deleted one', async () => {
    const probe = new ProbeStage('v1');
    const svc = await startTestService(env, undefined, { stages: [probe] });
    try {
      const { ids } = await ingest(svc, 'cai', COLOURS.slice(0, 3));
      const [flaky, broken, deleted] = ids as [string, string, string];
      // The ingest's own tasks settle first: a run in flight across the reset below would settle it as done.
      await svc.services.stages.idle();
      probe.flaky.set(flaky, 2);
      probe.broken.add(broken);
      await svc.services.db.$executeRaw`UPDATE stage_tasks SET state = 'pending', attempts = 0, due_at = now() WHERE stage = 'probe'`;
      await svc.api().delete(`/v1/images/${deleted}?owner=cai`).expect(200);
      probe.runs.length = 0;
      svc.services.stages.wake();
      await until(async () => (await svc.services.stages.counts()).probe!.pending === 0, 'no probe task pending');
      expect(probe.runs.map((r) => r.imageId)).toEqual([flaky]);
      const tasks = await svc.services.db.stageTask.findMany({ where: { stage: 'probe' }, orderBy: { imageId: 'asc' } });
      expect(tasks.find((t) => t.imageId === flaky)).toMatchObject({ state: 'done', attempts: 3, error: null });
      expect(tasks.find((t) => t.imageId === broken)).toMatchObject({ state: 'failed', attempts: 1, error: 'this image cannot be probed' });
      expect(tasks.find((t) => t.imageId === deleted)).toBeUndefined();
    } finally {
      await svc.close();
    }
  }, 60_000);

  test('starts nothing while a query waits for the encoder', async () => {
    const probe = new ProbeStage('v1');
    const svc = await startTestService({ ...env, STAGE_QUERY_WAIT_MS: '60000' }, undefined, { stages: [probe] });
    try {
      await ingest(svc, 'dan', COLOURS.slice(0, 1));
      probe.currentVersion = 'v2';
      let release!: () => void;
      const query = svc.services.model.current.pack.gate.run('interactive', () => new Promise<void>((r) => (release = r)));
      svc.services.stages.wake();
      await new Promise((r) => setTimeout(r, 500));
      expect(runsAt(probe, 'v2')).toEqual([]);
      release();
      await query;
      await until(() => runsAt(probe, 'v2').length === 1, 'the run after the query');
    } finally {
      await svc.close();
    }
  }, 60_000);
});
