import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { colourImage } from '../helpers/images';
import { dngWithPreview } from '../helpers/dng';
import { startTestService, waitForJob, type TestService } from '../helpers/service';

describe('camera raw', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService({ OCR: 'off' });
  }, 60_000);
  afterAll(() => svc.close());

  test("a DNG is indexed from its embedded full-size JPEG, upright, with the camera's metadata; one without a preview fails with the reason", async () => {
    const dir = path.join(svc.inbox, 'raw');
    await mkdir(dir, { recursive: true });
    // The preview is stored as the sensor saw it (landscape) and the raw says: turn it 90° clockwise.
    const preview = await sharp(await colourImage('green', { width: 1200, height: 800 }))
      .jpeg()
      .toBuffer();
    const dng = dngWithPreview(preview, { make: 'Canon', model: 'Canon EOS R5', orientation: 6, width: 1200, height: 800, takenAt: '2024:07:01 12:00:00' });
    await writeFile(path.join(dir, 'IMG_0001.DNG'), dng);
    const small = await sharp(await colourImage('green', { width: 160, height: 120 }))
      .jpeg()
      .toBuffer();
    await writeFile(path.join(dir, 'thumb-only.dng'), dngWithPreview(small, { make: 'Canon', model: 'Canon EOS R5', width: 160, height: 120 }));
    await writeFile(path.join(dir, 'no-preview.nef'), dngWithPreview(null, { make: 'Nikon', model: 'NIKON Z 8', width: 16, height: 16 }));

    const res = await svc.api().post('/v1/admin/ingest').send({ owner: 'raw', folder: dir });
    const status = await waitForJob(svc, res.body.jobId, 60_000);
    expect(status).toMatchObject({ state: 'completed', done: 1, failed: 2 });
    expect(status.errors.map((e: { source: string; error: string }) => [path.basename(e.source), e.error]).sort()).toEqual([
      ['no-preview.nef', expect.stringMatching(/without an embedded JPEG preview/)],
      ['thumb-only.dng', expect.stringMatching(/only embedded preview is 160x120, too small/)],
    ]);
    const hit = (
      await svc
        .api()
        .post('/v1/search/text')
        .send({ query: '绿色', filters: { owner: 'raw' } })
    ).body.hits[0];
    expect(hit).toMatchObject({ mime: 'image/x-adobe-dng', camera: 'Canon EOS R5', width: 800, height: 1200, takenAt: '2024-07-01T12:00:00.000Z' });
    const thumb = await svc.api().get(`/v1/images/${hit.id}/thumbnail`);
    expect(await sharp(thumb.body as Buffer).metadata()).toMatchObject({ width: 171, height: 256 });
  }, 60_000);
});
