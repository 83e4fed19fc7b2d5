import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { decodeImage, ImageRejected, probeImage, DEFAULT_DECODE_LIMITS } from '../../src/images/decode';
import { heifHasTransform } from '../../src/images/heic';
import { heicFrom } from '../helpers/heic';
import { colourImage, TINY_PREP } from '../helpers/images';
import { serveRoutes } from '../helpers/httpServer';
import { startTestService, waitForJob, type TestService } from '../helpers/service';

const prep = TINY_PREP;

/** 64x32 stored, red on the left and blue on the right, as a camera held upright writes it with orientation 6. */
async function sidewaysJpeg(): Promise<Buffer> {
  const px = Buffer.alloc(64 * 32 * 3);
  for (let y = 0; y < 32; y++) for (let x = 0; x < 64; x++) px[(y * 64 + x) * 3 + (x < 32 ? 0 : 2)] = 230;
  return sharp(px, { raw: { width: 64, height: 32, channels: 3 } })
    .jpeg({ quality: 95 })
    .withMetadata({ orientation: 6 })
    .withExif({
      IFD0: { Make: 'Apple', Model: 'iPhone 15 Pro' },
      IFD2: { DateTimeOriginal: '2024:03:02 10:20:30' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '39/1 54/1 0/1', GPSLongitudeRef: 'E', GPSLongitude: '116/1 23/1 0/1' },
    })
    .toBuffer();
}

/** Mean colour of the top and bottom quarter of an image. */
async function topAndBottom(jpeg: Buffer): Promise<{ top: number[]; bottom: number[] }> {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  const mean = (y0: number, y1: number) => {
    const sum = [0, 0, 0];
    for (let y = y0; y < y1; y++) for (let x = 0; x < info.width; x++) for (let c = 0; c < 3; c++) sum[c]! += data[(y * info.width + x) * info.channels + c]!;
    return sum.map((v) => v / ((y1 - y0) * info.width));
  };
  return { top: mean(0, Math.floor(info.height / 4)), bottom: mean(Math.ceil((info.height * 3) / 4), info.height) };
}

describe('HEIC', () => {
  let heic: Buffer;
  beforeAll(async () => {
    heic = await heicFrom([await sidewaysJpeg()]);
  });

  test('a real HEVC HEIC decodes upright, with its capture time, camera and position', async () => {
    expect(heic.toString('latin1', 4, 12)).toBe('ftypheic');
    const info = await probeImage(heic, { maxPixels: 1e6 });
    expect(info).toMatchObject({ mime: 'image/heic', width: 32, height: 64, camera: 'Apple iPhone 15 Pro', location: { lat: 39.9 } });
    expect(info.takenAt?.toISOString()).toBe('2024-03-02T10:20:30.000Z');
    const d = await decodeImage(heic, prep, { ...DEFAULT_DECODE_LIMITS, ocrSide: 40 });
    expect([d.width, d.height, d.mime]).toEqual([32, 64, 'image/heic']);
    expect(await sharp(d.preview).metadata()).toMatchObject({ format: 'jpeg', width: 32, height: 64 });
    expect(await sharp(d.thumbnail).metadata()).toMatchObject({ format: 'jpeg', width: 32, height: 64 });
    expect(await sharp(d.ocrInput).metadata()).toMatchObject({ format: 'jpeg', width: 20, height: 40, channels: 3 });
    // Orientation 6 turns the stored left half (red) to the top.
    const { top, bottom } = await topAndBottom(d.preview);
    expect(top[0]).toBeGreaterThan(180);
    expect(top[2]).toBeLessThan(60);
    expect(bottom[2]).toBeGreaterThan(180);
    // The same pixels as the JPEG it was made from, up to HEVC's loss.
    const fromJpeg = await decodeImage(await sidewaysJpeg(), prep);
    const diff = d.tensor.data.reduce((s, v, i) => s + Math.abs(v - fromJpeg.tensor.data[i]!), 0) / d.tensor.data.length;
    expect(diff).toBeLessThan(0.05);
  });

  test("HEIF's own rotation wins over EXIF's", async () => {
    expect(heifHasTransform(heic)).toBe(false);
    // Turn the file's pixi property into an irot of 0°: libheif then owns the orientation and EXIF's 6 no longer applies.
    const patched = Buffer.from(heic);
    const at = patched.indexOf('pixi', 0, 'latin1');
    expect(at).toBeGreaterThan(0);
    patched.write('irot', at, 'latin1');
    expect(heifHasTransform(patched)).toBe(true);
    const d = await decodeImage(patched, prep);
    expect([d.width, d.height]).toEqual([64, 32]);
  });

  test('a multi-image HEIC gives its primary image', async () => {
    const multi = await heicFrom([await colourImage('blue', { format: 'jpeg' }), await colourImage('yellow', { format: 'jpeg' })]);
    const d = await decodeImage(multi, prep);
    const { top } = await topAndBottom(d.preview);
    expect(top[2]).toBeGreaterThan(150); // blue, the first and primary
    expect(top[0]).toBeLessThan(100);
  });

  test('size limits come from the header; a broken HEIC is rejected with a reason', async () => {
    await expect(decodeImage(heic, prep, { ...DEFAULT_DECODE_LIMITS, maxPixels: 1000 })).rejects.toMatchObject({ reason: 'too_large' });
    const truncated = heic.subarray(0, Math.floor(heic.length * 0.8));
    const e = await decodeImage(truncated, prep).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ImageRejected);
    expect((e as ImageRejected).status).toBe(422);
  });

  describe('through every ingest path', () => {
    let svc: TestService;
    let server: Awaited<ReturnType<typeof serveRoutes>>;
    beforeAll(async () => {
      svc = await startTestService({ URL_FETCH_ALLOW_PRIVATE: 'true' });
      const red = await heicFrom([await colourImage('red', { format: 'jpeg', seed: 3 })]);
      server = await serveRoutes({
        '/red.heic': (_req, res) => {
          res.setHeader('content-type', 'image/heic');
          res.end(red);
        },
      });
    }, 60_000);
    afterAll(async () => {
      await server.close();
      await svc.close();
    });

    const top = async (query: string, owner: string) => (await svc.api().post('/v1/search/text').send({ query, filters: { owner }, limit: 1 })).body.hits[0];

    test('folder, upload and URL; searches find them and serve JPEG derivatives', async () => {
      await writeFile(path.join(svc.inbox, 'IMG_0001.HEIC'), await heicFrom([await colourImage('green', { format: 'jpeg', seed: 1 })]));
      const folder = await svc.api().post('/v1/admin/ingest').send({ owner: 'folder', folder: svc.inbox });
      expect(folder.status).toBe(202);
      expect(await waitForJob(svc, folder.body.jobId)).toMatchObject({ state: 'completed', done: 1, failed: 0 });
      const upload = await svc
        .api()
        .post('/v1/admin/ingest')
        .field('owner', 'upload')
        .attach('files', await heicFrom([await colourImage('yellow', { format: 'jpeg', seed: 2 })]), 'IMG_0002.heic');
      expect(await waitForJob(svc, upload.body.jobId)).toMatchObject({ state: 'completed', done: 1 });
      const url = await svc
        .api()
        .post('/v1/admin/ingest')
        .send({ owner: 'url', urls: [server.url('/red.heic')] });
      expect(await waitForJob(svc, url.body.jobId)).toMatchObject({ state: 'completed', done: 1 });

      for (const [query, owner, source] of [
        ['绿色', 'folder', 'IMG_0001.HEIC'],
        ['黄色', 'upload', 'IMG_0002.heic'],
        ['红色', 'url', server.url('/red.heic')],
      ] as const) {
        const hit = await top(query, owner);
        expect(hit).toMatchObject({ mime: 'image/heic', width: 96, height: 64 });
        expect(hit.source).toContain(source);
        const thumb = await svc.api().get(`/v1/images/${hit.id}/thumbnail`);
        expect(thumb.status).toBe(200);
        expect(thumb.headers['content-type']).toBe('image/jpeg');
      }
    });

    test('a HEIC query image finds its match', async () => {
      const res = await svc
        .api()
        .post('/v1/search/image')
        .field('filters', JSON.stringify({ owner: 'folder' }))
        .attach('image', await heicFrom([await colourImage('green', { format: 'jpeg', seed: 9 })]), 'q.heic');
      expect(res.status).toBe(200);
      expect(res.body.hits[0].source).toContain('IMG_0001.HEIC');
    });
  });
});
