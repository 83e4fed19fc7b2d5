import { colourImage } from '../helpers/images';
import { serveOneHeld } from '../helpers/httpServer';
import { startTestService, waitForJob, type TestService } from '../helpers/service';
import { until } from '../helpers/until';
import { ProbeStage } from './probeStage/probeStage';

/**
 * A URL job of two photos whose second is held by the server: the first is stored (searchable by meaning)
 * while the job still runs. Returns what OCR and a probe stage had done with it by then, and after the job.
 */
async function duringAndAfter(env: Record<string, string>) {
  const probe = new ProbeStage('v1');
  const svc: TestService = await startTestService(
    { URL_FETCH_ALLOW_PRIVATE: 'true', INGEST_WRITE_BATCH: '1', ENCODE_BATCH_SIZE: '1', OCR_POLL_MS: '100', STAGE_POLL_MS: '100', DUPLICATES: 'off', ...env },
    undefined,
    { stages: [probe] },
  );
  const server = await serveOneHeld(await colourImage('red', { seed: 1 }), await colourImage('blue', { seed: 2 }));
  try {
    const res = await svc.api().post('/v1/admin/ingest').send({ owner: 'ivy', urls: server.urls }).expect(202);
    server.hold(server.urls[1]!);
    const rows = () => svc.services.db.image.findMany({ where: { owner: 'ivy', state: 'indexed' }, select: { id: true, ocrState: true } });
    await until(async () => (await rows()).length === 1 && server.holding() === 1, 'the first photo stored while the second is held', 20_000);
    // Many of the stages' and OCR's polls (100 ms) long: each found the first photo due.
    await until(async () => probe.runs.length > 0 && (await rows())[0]!.ocrState === 'done', 'the first photo read and staged', 4000).catch(() => undefined);
    const during = { probeRuns: probe.runs.length, ocr: (await rows())[0]!.ocrState, job: (await svc.services.ingest.status(res.body.jobId))!.state };
    server.release();
    expect(await waitForJob(svc, res.body.jobId)).toMatchObject({ state: 'completed', done: 2 });
    await svc.services.stages.idle();
    const after = { probeRuns: probe.runs.length, ocr: (await rows()).map((r) => r.ocrState) };
    return { during, after };
  } finally {
    await server.close();
    await svc.close();
    await svc.database.drop();
  }
}

describe('OCR and the image stages wait for ingest (BACKGROUND_DURING_INGEST)', () => {
  test('wait (the default): a photo stored while its job runs is read and staged once the job is done', async () => {
    const { during, after } = await duringAndAfter({});
    expect(during).toEqual({ probeRuns: 0, ocr: 'pending', job: 'running' });
    expect(after).toEqual({ probeRuns: 2, ocr: ['done', 'done'] });
  }, 60_000);

  test('run: they work beside the job', async () => {
    const { during, after } = await duringAndAfter({ BACKGROUND_DURING_INGEST: 'run' });
    expect(during).toEqual({ probeRuns: 1, ocr: 'done', job: 'running' });
    expect(after).toEqual({ probeRuns: 2, ocr: ['done', 'done'] });
  }, 60_000);
});
