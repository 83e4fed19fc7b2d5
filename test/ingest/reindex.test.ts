import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { writeColourLibrary } from '../helpers/files';
import { createTestDatabase } from '../helpers/database';
import { tempDir } from '../helpers/env';
import { startTestService, startWithColourLibrary, waitForJob } from '../helpers/service';
import { editedTestPack } from '../helpers/testPack';
import { colourVideo } from '../helpers/video';

describe('a model pack change re-indexes the library', () => {
  test('vectors are re-made with the new pack, from stored previews, into its own collection', async () => {
    const database = await createTestDatabase();
    const dataDir = await tempDir('reindex');
    const v1 = await startTestService({}, { database, dataDir });
    await writeColourLibrary(v1.inbox);
    // A video: its frames are re-made from their stored previews too, with their time ranges.
    await writeFile(
      path.join(v1.inbox, 'clip.mp4'),
      await colourVideo({
        spans: [
          { colour: 'red', seconds: 4 },
          { colour: 'green', seconds: 4 },
        ],
      }),
    );
    const job = await v1.services.ingest.createFolderJob('alice', '.');
    await v1.services.ingest.runJob(job);
    await v1.close();

    const packV2 = await editedTestPack((m) => ({ ...m, version: '2' }));

    const v2 = await startTestService({ MODEL_DIR: packV2 }, { database, dataDir });
    try {
      expect(await v2.services.images.count()).toBe(0);
      const jobs = await v2.services.ingest.resumeUnfinished();
      expect(jobs).toHaveLength(1);
      const status = await waitForJob(v2, jobs[0]!);
      expect(status).toMatchObject({ kind: 'reindex', state: 'completed', done: 9, failed: 0 });
      const rows = await v2.services.db.image.findMany();
      expect(rows.every((r) => r.modelPack === 'test-pack@2' && r.state === 'indexed')).toBe(true);
      const video = rows.find((r) => r.mediaType === 'video')!;
      expect(await v2.services.images.count()).toBe(8 + video.segmentCount + 1);
      const green = (
        await v2
          .api()
          .post('/v1/search/text')
          .send({ query: '绿色', filters: { mediaType: 'video' } })
      ).body.hits[0];
      expect(green.segment.startMs).toBeGreaterThanOrEqual(4000);
      const hits = (await v2.api().post('/v1/search/text').send({ query: '橙色', limit: 1 })).body.hits;
      expect(hits[0].source).toMatch(/orange/);
      expect(hits[0].modelPack).toBe('test-pack@2');
      // Re-made points carry their image's owner, not the reindex job's "*" (found by the crash soak): a
      // tenant's search, filtered by its owner in the index, still finds them.
      const points = await v2.services.images.retrieve(rows.map((r) => r.id));
      expect([...new Set(points.map((p) => p.payload.owner))]).toEqual(['alice']);
      const asAlice = (
        await v2
          .api()
          .post('/v1/search/text')
          .send({ query: '橙色', limit: 1, filters: { owner: 'alice' } })
      ).body.hits;
      expect(asAlice[0].source).toMatch(/orange/);
      // Nothing left to do on the next start.
      expect(await v2.services.ingest.resumeUnfinished()).toEqual([]);
    } finally {
      await v2.close();
      await database.drop();
    }
  });

  test('stage work waiting for the re-index runs when the re-index reaches its image, though its attempts ran out', async () => {
    const { database, dataDir, svc: v1 } = await startWithColourLibrary('reindex-stages');
    await v1.services.stages.idle();
    await v1.close();

    // One attempt, and no retry for an hour: as a library too large to re-index before the retries run out.
    const packV2 = await editedTestPack((m) => ({ ...m, version: '2' }));
    const v2 = await startTestService({ MODEL_DIR: packV2, STAGE_MAX_ATTEMPTS: '1', STAGE_RETRY_BASE_MS: '3600000' }, { database, dataDir });
    try {
      const autoTags = () => v2.services.db.stageTask.findMany({ where: { stage: 'autotags' } });
      await v2.services.stages.idle();
      expect((await autoTags()).map((t) => t.state)).toEqual(Array(8).fill('failed'));
      const [job] = await v2.services.ingest.resumeUnfinished();
      await waitForJob(v2, job!);
      await v2.services.stages.idle();
      const tasks = await autoTags();
      expect(tasks.map((t) => t.state)).toEqual(Array(8).fill('done'));
      const rows = await v2.services.db.image.findMany();
      expect(rows.every((r) => r.autoTagsModel === tasks[0]!.version)).toBe(true);
      expect(await v2.services.db.stageTask.count({ where: { state: { not: 'done' } } })).toBe(0);
    } finally {
      await v2.close();
      await database.drop();
    }
  });
});
