import { installOptionsFromEnv } from '../../src/models/install/fetchSettings';
import { installPack } from '../../src/models/install/installPack';
import { tempDir } from '../helpers/env';
import { cnClipRepo, immichRepo, ofaSysRepo } from '../helpers/hubRepos';
import { colourImage } from '../helpers/images';
import { startLoopbackHub, type LoopbackHub } from '../helpers/loopbackHub';
import { startTestService, waitForJob } from '../helpers/service';

/**
 * Packs whose graphs fix the batch (cn_clip's text tower at [1, 52]; Immich's both towers at 1), installed
 * from a loopback hub and served: ingest batches of 8, searches, classify with many labels and a text corpus
 * all split their work to what the graph takes.
 */
describe('fixed-batch exports, end to end', () => {
  let hub: LoopbackHub;
  beforeAll(async () => {
    hub = await startLoopbackHub();
    hub.add('OFA-Sys/chinese-clip-vit-base-patch16', await ofaSysRepo());
    hub.add('eisneim/cn-clip_vit-b-16', cnClipRepo());
    hub.add('immich-app/clip-fixed', immichRepo());
  });
  afterAll(() => hub.close());

  test.each([
    ['cn_clip (text fixed at 1, vision open)', 'eisneim/cn-clip_vit-b-16', { image: null, text: 1 }],
    ['Immich (both fixed at 1)', 'immich-app/clip-fixed', { image: 1, text: 1 }],
  ])('%s: ingest 20 images, search, classify and a text corpus', async (_label, repo, batch) => {
    const { dir } = await installPack(installOptionsFromEnv({ MODELS_REPO: repo, MODELS_ENDPOINT: hub.endpoint, MODELS_DIR: await tempDir('models') }));
    const svc = await startTestService({ MODEL_DIR: dir, OCR: 'off', ENCODE_BATCH_SIZE: '8' });
    try {
      let upload = svc.api().post('/v1/admin/ingest').field('owner', 'fay');
      for (let i = 0; i < 20; i++) upload = upload.attach('files', await colourImage(['red', 'blue', 'green', 'yellow'][i % 4]!, { seed: i }), `p${i}.png`);
      const job = await upload.expect(202);
      expect(await waitForJob(svc, job.body.jobId, 120_000)).toMatchObject({ state: 'completed', done: 20, failed: 0 });
      const hits = (await svc.api().post('/v1/search/text').send({ query: '红色的花', limit: 20, filters: { owner: 'fay' } }).expect(200)).body.hits;
      expect(hits).toHaveLength(20);
      const labels = (await svc.api().post('/v1/classify').send({ imageId: hits[0].id, labels: ['红色', '蓝色', '绿色', '黄色', '猫', '海边'] }).expect(200)).body.labels;
      expect(labels).toHaveLength(6);
      const texts = Array.from({ length: 12 }, (_, i) => ({ text: `第${i}张照片` }));
      expect((await svc.api().post('/v1/admin/texts').send({ texts }).expect(200)).body.count).toBe(12);
      expect((await svc.api().post('/v1/retrieve/text').send({ imageId: hits[0].id, limit: 12 }).expect(200)).body.hits).toHaveLength(12);
      expect((await svc.api().get('/readyz').expect(200)).body.checks.model.maxBatch).toEqual(batch);
    } finally {
      await svc.close();
      await svc.database.drop();
    }
  }, 180_000);
});
