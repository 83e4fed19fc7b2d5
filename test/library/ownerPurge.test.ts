import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import request from 'supertest';
import { writeColourLibrary } from '../helpers/files';
import { colourImage } from '../helpers/images';
import { startTestService, waitForJob } from '../helpers/service';

describe('purging an owner', () => {
  test("removes every image, text and job of that owner and nothing of anyone else's; a second run finds nothing", async () => {
    const svc = await startTestService();
    try {
      for (const owner of ['alice', 'bob']) {
        await writeColourLibrary(path.join(svc.inbox, owner));
        const res = await svc.api().post('/v1/admin/ingest').send({ owner, folder: owner });
        await waitForJob(svc, res.body.jobId);
      }
      await svc
        .api()
        .post('/v1/admin/texts')
        .send({
          texts: [
            { text: '爱丽丝的猫', owner: 'alice' },
            { text: '鲍勃的狗', owner: 'bob' },
          ],
        })
        .expect(200);
      await svc.services.ingest.createUploadJob('alice', [{ name: 'late.png', data: await colourImage('purple', { seed: 9 }) }]);
      await mkdir(path.join(svc.inbox, 'alice-camera'));
      await svc.api().post('/v1/admin/watches').send({ owner: 'alice', folder: 'alice-camera' }).expect(201);
      await svc.api().post('/v1/webhooks').send({ owner: 'alice', url: 'https://photos.example/hook' }).expect(201);
      const bobHit = (
        await svc
          .api()
          .post('/v1/search/text')
          .send({ query: '红色', limit: 1, filters: { owner: 'bob' } })
      ).body.hits[0] as { id: string; thumbnailUrl: string };

      const { key } = await svc.services.keys.create('alice-app', 'alice', ['search', 'ingest']);
      expect((await svc.api(key).delete('/v1/owners/alice')).status).toBe(403);
      const purged = await svc.api().delete('/v1/owners/alice').expect(200);
      expect(purged.body).toEqual({ owner: 'alice', images: 8, texts: 1, jobs: 2, webhooks: 1, watches: 1 });
      expect((await svc.api().get('/v1/admin/watches?owner=alice')).body.watches).toEqual([]);
      expect((await svc.api().get('/v1/webhooks')).body.webhooks).toEqual([]);

      expect(
        (
          await svc
            .api()
            .post('/v1/search/text')
            .send({ query: '红色', limit: 20, filters: { owner: 'alice' } })
        ).body.hits,
      ).toEqual([]);
      expect((await svc.api().get('/v1/images?owner=alice&includeHidden=true&includeArchived=true')).body.images).toEqual([]);
      expect((await svc.api().get('/v1/admin/jobs?owner=alice')).body.jobs).toEqual([]);
      const retrieved = (await svc.api().post('/v1/retrieve/text').send({ imageId: bobHit.id, owner: 'alice', limit: 10 })).status;
      expect(retrieved).toBe(404);
      expect(await svc.services.db.textEntry.count({ where: { owner: 'alice' } })).toBe(0);
      expect(await svc.services.db.image.count({ where: { owner: 'alice' } })).toBe(0);
      expect(await svc.services.images.count()).toBe(8);

      // Bob keeps everything, the derivatives his images share with Alice's bytes included.
      expect((await request(svc.app).get(bobHit.thumbnailUrl)).status).toBe(200);
      const bobsTexts = (await svc.api().post('/v1/retrieve/text').send({ imageId: bobHit.id, owner: 'bob', limit: 10 })).body.hits as { text: string }[];
      expect(bobsTexts.map((t) => t.text)).toContain('鲍勃的狗');
      expect(bobsTexts.map((t) => t.text)).not.toContain('爱丽丝的猫');

      expect((await svc.api().delete('/v1/owners/alice').expect(200)).body).toEqual({ owner: 'alice', images: 0, texts: 0, jobs: 0, webhooks: 0, watches: 0 });
      expect((await svc.api().delete('/v1/owners/bad%20name')).status).toBe(400);
    } finally {
      await svc.close();
      await svc.database.drop();
    }
  });
});
