import { colourImage } from '../helpers/images';
import { serveGated } from '../helpers/httpServer';
import { startTestService, type TestService } from '../helpers/service';
import { until } from '../helpers/until';

/**
 * Owner ann's import, a URL job of six photos whose server answers only when the test says, then an upload of one
 * photo by `uploader` (bo, or ann herself). Two photos are read at a time (DECODE_CONCURRENCY 1 plus a batch of 1),
 * so the import stands at two photos in flight when the upload is queued; the test then answers those two and
 * watches which job goes next.
 */
async function importThenUpload(turnMs: string, uploader = 'bo') {
  let idles = 0;
  const svc: TestService = await startTestService(
    {
      URL_FETCH_ALLOW_PRIVATE: 'true',
      DECODE_CONCURRENCY: '1',
      INGEST_WRITE_BATCH: '1',
      ENCODE_BATCH_SIZE: '1',
      JOB_TURN_MS: turnMs,
      JOB_POLL_MS: '20',
      OCR: 'off',
      DUPLICATES: 'off',
      AUTO_TAGS: 'off',
    },
    undefined,
    { onIngestIdle: () => idles++ },
  );
  const photos = await Promise.all([1, 2, 3, 4, 5, 6].map((seed) => colourImage('red', { seed })));
  const server = await serveGated(photos);
  const job = async (id: string) => (await svc.services.ingest.status(id))!;
  try {
    const big = (await svc.api().post('/v1/admin/ingest').send({ owner: 'ann', urls: server.urls }).expect(202)).body.jobId as string;
    await until(async () => server.holding() === 2, "the import's first two photos asked for", 20_000);
    const upload = (
      await svc
        .api()
        .post('/v1/admin/ingest')
        .field('owner', uploader)
        .attach('files', await colourImage('blue'), 'b.png')
        .expect(202)
    ).body.jobId as string;
    // Many turn lengths and polls (50 ms, 20 ms): the worker has seen the upload waiting.
    await new Promise((r) => setTimeout(r, 1000));
    // The import still runs (its photos in flight are held); the upload waits for the worker.
    const held = { big: await job(big), upload: await job(upload) };
    server.release();
    // Then the upload is done (turns), or the import stores those two and asks for its next two (no turns).
    if (turnMs === '0') await until(async () => server.holding() === 2 && (await job(big)).done === 2, "the import's next photos asked for", 20_000);
    else await until(async () => (await job(upload)).state === 'completed', 'the upload done', 20_000);
    const midway = { big: await job(big), upload: await job(upload), asked: server.requests.size };
    // Every photo answered as soon as it is asked for, until both jobs end.
    const answering = setInterval(() => server.release(), 20);
    try {
      await until(async () => (await job(big)).state === 'completed' && (await job(upload)).state === 'completed', 'both jobs done', 30_000);
    } finally {
      clearInterval(answering);
    }
    return { held, midway, big: await job(big), upload: await job(upload), requests: [...server.requests.values()], idles };
  } finally {
    await server.close();
    await svc.close();
    await svc.database.drop();
  }
}

describe('jobs take turns at the ingest worker (JOB_TURN_MS)', () => {
  test("another owner's job waiting, a running job gives way after its turn and then goes on where it stopped", async () => {
    const r = await importThenUpload('50');
    expect(r.held).toMatchObject({ big: { state: 'running', waiting: false }, upload: { state: 'queued', waiting: true } });
    // ann's job wrote the two photos it had read, and bo's photo was stored before ann's next (held) ones.
    expect(r.midway.upload).toMatchObject({ state: 'completed', done: 1 });
    expect(r.midway.big).toMatchObject({ state: 'running', done: 2, pending: 4 });
    // Then ann's job went on: all six stored, each photo read once.
    expect(r.big).toMatchObject({ state: 'completed', waiting: false, done: 6, failed: 0, pending: 0 });
    expect(r.requests).toEqual([1, 1, 1, 1, 1, 1]);
    // Ingest stopped when bo's job ended and when ann's did, not between ann's turn and bo's: OCR and the stages
    // (which wait for ingest) were not woken by a turn changing hands.
    expect(r.idles).toBe(2);
  }, 90_000);

  test("the same owner's upload during her own import: it waits for a turn, not for the import", async () => {
    const r = await importThenUpload('50', 'ann');
    expect(r.midway.upload).toMatchObject({ owner: 'ann', state: 'completed', done: 1 });
    expect(r.midway.big).toMatchObject({ state: 'running', done: 2, pending: 4 });
    expect(r.big).toMatchObject({ state: 'completed', done: 6, failed: 0, pending: 0 });
    expect(r.requests).toEqual([1, 1, 1, 1, 1, 1]);
  }, 90_000);

  test('0: a job runs to its end before the next (the control)', async () => {
    const r = await importThenUpload('0');
    expect(r.midway.upload.state).toBe('queued');
    expect(r.midway.big).toMatchObject({ state: 'running', done: 2 });
    expect(r.midway.asked).toBe(4);
    expect(r.big).toMatchObject({ state: 'completed', done: 6 });
    expect(r.upload).toMatchObject({ state: 'completed', done: 1 });
    expect(r.upload.finishedAt!.getTime()).toBeGreaterThanOrEqual(r.big.finishedAt!.getTime());
  }, 90_000);
});
