import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import request from 'supertest';
import { assetPointIds } from '../../src/util/ids';
import { colourImage } from '../helpers/images';
import { heicFrom } from '../helpers/heic';
import { startTestService, waitForJob, type TestService } from '../helpers/service';
import { colourVideo } from '../helpers/video';

/** Mean RGB of a JPEG. */
async function meanColour(jpeg: Buffer): Promise<number[]> {
  const { data } = await sharp(jpeg).resize(1, 1).raw().toBuffer({ resolveWithObject: true });
  return [...data];
}

describe('videos, Live Photos and animations', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService({ VIDEO_MIN_SPACING_MS: '500', VIDEO_MAX_SPACING_MS: '2000' });
  }, 60_000);
  afterAll(() => svc.close());

  const ingestFolder = async (owner: string, folder: string) => {
    const res = await svc.api().post('/v1/admin/ingest').send({ owner, folder });
    expect(res.status).toBe(202);
    return waitForJob(svc, res.body.jobId, 60_000);
  };
  const searchText = async (owner: string, query: string, limit = 5) =>
    (await svc.api().post('/v1/search/text').send({ query, filters: { owner }, limit })).body;

  test('a video is found once, at the stretch that matches, with its frame, its other stretches and its movie', async () => {
    const dir = path.join(svc.inbox, 'trip');
    await mkdir(dir, { recursive: true });
    // 0-4 s red, 4-8 s green; H.264 in MP4 as phones write it, with a capture time.
    await writeFile(
      path.join(dir, 'clip.mp4'),
      await colourVideo({
        spans: [
          { colour: 'red', seconds: 4 },
          { colour: 'green', seconds: 4 },
        ],
        metadata: { creation_time: '2024-05-01T08:00:00Z' },
      }),
    );
    await writeFile(path.join(dir, 'photo.jpg'), await colourImage('green', { format: 'jpeg', seed: 4 }));
    const done = await ingestFolder('vid', dir);
    expect(done.errors).toEqual([]);
    expect(done).toMatchObject({ state: 'completed', done: 2, failed: 0 });

    const { hits } = await searchText('vid', '绿色');
    const video = hits.find((h: { mediaType: string }) => h.mediaType === 'video');
    expect(hits.filter((h: { id: string }) => h.id === video.id)).toHaveLength(1);
    expect(video).toMatchObject({ mime: 'video/mp4', videoCodec: 'h264', durationMs: 8000, width: 160, height: 120, takenAt: '2024-05-01T08:00:00.000Z' });
    expect(video.segment.startMs).toBeGreaterThanOrEqual(4000);
    expect(video.segment.endMs).toBeLessThanOrEqual(8000);
    // Other stretches are those about as close as the best one: the red half is not among them.
    for (const s of video.otherSegments) expect(s.startMs).toBeGreaterThanOrEqual(4000);
    expect(video.otherSegments.length).toBeGreaterThanOrEqual(1);
    // At most one frame per 500 ms, at least one per 2 s: 4 to 16 frames for 8 s.
    expect(video.segmentCount + 1).toBeGreaterThanOrEqual(4);
    expect(video.segmentCount + 1).toBeLessThanOrEqual(16);

    // The hit's thumbnail is the matching (green) frame, by signed URL without a key.
    const thumb = await request(svc.app).get(video.thumbnailUrl);
    expect(thumb.status).toBe(200);
    const [r, g] = await meanColour(thumb.body as Buffer);
    expect(g).toBeGreaterThan(150);
    expect(r).toBeLessThan(80);
    // The movie plays from the matched time: Range requests are answered with 206.
    const part = await request(svc.app).get(video.videoUrl).set('range', 'bytes=0-99');
    expect(part.status).toBe(206);
    expect(part.headers['content-type']).toBe('video/mp4');
    expect(Number(part.headers['content-length'])).toBe(100);

    // Red finds the first stretch of the same video.
    const red = (await searchText('vid', '红色')).hits[0];
    expect(red).toMatchObject({ id: video.id });
    expect(red.segment.endMs).toBeLessThanOrEqual(4000);

    // Image-to-image and image-to-text from one of the video's frames.
    const byFrame = await svc
      .api()
      .post('/v1/search/image')
      .send({ imageId: video.id, segment: video.segment.index, filters: { owner: 'vid' } });
    expect(byFrame.status).toBe(200);
    expect(byFrame.body.hits[0]).toMatchObject({ source: expect.stringContaining('photo.jpg') });
    expect((await svc.api().post('/v1/retrieve/text').send({ imageId: video.id, segment: 99 })).status).toBe(404);

    // Deleting the video removes every frame's point and file.
    const points = assetPointIds({ id: video.id, segmentCount: video.segmentCount });
    expect(await svc.services.images.retrieve(points)).toHaveLength(points.length);
    expect((await svc.api().delete(`/v1/images/${video.id}`)).status).toBe(200);
    expect(await svc.services.images.retrieve(points)).toHaveLength(0);
    expect(points.some((p) => svc.services.derivatives.has('thumbnail', p))).toBe(false);
    expect((await searchText('vid', '红色')).hits.map((h: { id: string }) => h.id)).not.toContain(video.id);
    expect((await request(svc.app).get(video.videoUrl)).status).toBe(404);
  }, 60_000);

  test('HEVC in MOV, VP8 in WebM, uploads and URLs-less uploads keep the movie; metadata from the container', async () => {
    const mov = await colourVideo({
      spans: [{ colour: 'purple', seconds: 2 }],
      codec: 'libx265',
      container: 'mov',
      metadata: {
        'com.apple.quicktime.creationdate': '2024-06-01T10:00:00+0800',
        'com.apple.quicktime.location.ISO6709': '+31.2304+121.4737+010.000/',
        'com.apple.quicktime.make': 'Apple',
        'com.apple.quicktime.model': 'iPhone 15 Pro',
      },
    });
    const webm = await colourVideo({ spans: [{ colour: 'orange', seconds: 2 }], codec: 'libvpx', container: 'webm' });
    const res = await svc.api().post('/v1/admin/ingest').field('owner', 'up').attach('files', mov, 'IMG_0100.MOV').attach('files', webm, 'clip.webm');
    expect(await waitForJob(svc, res.body.jobId, 60_000)).toMatchObject({ state: 'completed', done: 2 });
    const purple = (await searchText('up', '紫色')).hits[0];
    expect(purple).toMatchObject({
      mime: 'video/quicktime',
      videoCodec: 'hevc',
      camera: 'Apple iPhone 15 Pro',
      location: { lat: 31.2304, lon: 121.4737 },
      takenAt: '2024-06-01T02:00:00.000Z',
    });
    expect((await request(svc.app).get(purple.videoUrl)).body).toHaveLength(mov.length);
    expect((await searchText('up', '橙色')).hits[0]).toMatchObject({ mime: 'video/webm', videoCodec: 'vp8' });
  }, 60_000);

  test('a broken or overlong video fails alone with the reason, leaving nothing behind', async () => {
    const good = await colourVideo({ spans: [{ colour: 'blue', seconds: 2 }] });
    const broken = Buffer.concat([good.subarray(0, 64), Buffer.alloc(4096, 7)]);
    const res = await svc.api().post('/v1/admin/ingest').field('owner', 'bad').attach('files', broken, 'broken.mp4').attach('files', good, 'good.mp4');
    const status = await waitForJob(svc, res.body.jobId, 60_000);
    expect(status).toMatchObject({ state: 'completed', done: 1, failed: 1 });
    expect(status.errors).toEqual([{ source: '0-broken.mp4', error: expect.stringMatching(/video could not be read/) }]);
    expect(await svc.services.db.image.count({ where: { owner: 'bad' } })).toBe(1);

    const short = await startTestService({ VIDEO_MAX_SECONDS: '1' });
    try {
      const long = await short.api().post('/v1/admin/ingest').field('owner', 'long').attach('files', good, 'long.mp4');
      const s = await waitForJob(short, long.body.jobId, 60_000);
      expect(s.errors).toEqual([{ source: '0-long.mp4', error: 'video is 2 s long; the limit is 1 s' }]);
    } finally {
      await short.close();
    }
  }, 90_000);

  test('a Live Photo is one asset: the still, and its movie as segments; deleting it deletes both', async () => {
    const dir = path.join(svc.inbox, 'live');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'IMG_0001.HEIC'), await heicFrom([await colourImage('blue', { format: 'jpeg', seed: 5 })]));
    await writeFile(
      path.join(dir, 'IMG_0001.MOV'),
      await colourVideo({
        spans: [
          { colour: 'green', seconds: 1 },
          { colour: 'yellow', seconds: 2 },
        ],
        container: 'mov',
      }),
    );
    expect(await ingestFolder('live', dir)).toMatchObject({ state: 'completed', total: 1, done: 1 });
    const still = (await searchText('live', '蓝色')).hits[0];
    expect(still).toMatchObject({ mediaType: 'image', mime: 'image/heic', durationMs: 3000, videoCodec: 'h264' });
    expect(still.segment).toBeUndefined(); // the still itself matched
    const moving = (await searchText('live', '黄色')).hits[0];
    expect(moving).toMatchObject({ id: still.id });
    expect(moving.segment.startMs).toBeGreaterThanOrEqual(1000);
    expect((await request(svc.app).get(moving.videoUrl).set('range', 'bytes=0-9')).status).toBe(206);
    expect((await svc.api().delete(`/v1/images/${still.id}`)).status).toBe(200);
    expect(await svc.services.images.retrieve(assetPointIds(still))).toHaveLength(0);
    // A broken movie does not cost the still.
    await writeFile(path.join(dir, 'IMG_0002.JPG'), await colourImage('red', { format: 'jpeg', seed: 6 }));
    await writeFile(path.join(dir, 'IMG_0002.MOV'), Buffer.concat([Buffer.from('\0\0\0\x14ftypqt  \0\0\0\0', 'latin1'), Buffer.alloc(512, 3)]));
    expect(await ingestFolder('live2', dir)).toMatchObject({ done: 2, failed: 0 });
    expect((await searchText('live2', '红色')).hits[0]).toMatchObject({ mime: 'image/jpeg', durationMs: null, segmentCount: 0 });
  }, 60_000);

  test('animated GIF and WebP are searched by their frames, not only the first', async () => {
    const frame = (key: string) => colourImage(key, { width: 48, height: 32 });
    const frames = await Promise.all(['red', 'red', 'white', 'white'].map(frame));
    const raw = await Promise.all(frames.map((f) => sharp(f).raw().toBuffer()));
    const gif = await sharp(Buffer.concat(raw), { raw: { width: 48, height: 32 * 4, channels: 3, pageHeight: 32 } })
      .gif({ delay: [1000, 1000, 1000, 1000] })
      .toBuffer();
    const res = await svc.api().post('/v1/admin/ingest').field('owner', 'gif').attach('files', gif, 'anim.gif');
    expect(await waitForJob(svc, res.body.jobId)).toMatchObject({ done: 1 });
    const hit = (await searchText('gif', '白色')).hits[0];
    expect(hit).toMatchObject({ mime: 'image/gif', durationMs: 4000 });
    expect(hit.segment.startMs).toBe(2000);
    expect((await searchText('gif', '红色')).hits[0].segment.startMs).toBe(0);
    // Animated WebP, the same way.
    const webp = await sharp(Buffer.concat(raw), { raw: { width: 48, height: 32 * 4, channels: 3, pageHeight: 32 } })
      .webp({ delay: [1000, 1000, 1000, 1000], lossless: true })
      .toBuffer();
    const w = await svc.api().post('/v1/admin/ingest').field('owner', 'webp').attach('files', webp, 'anim.webp');
    expect(await waitForJob(svc, w.body.jobId)).toMatchObject({ done: 1 });
    expect((await searchText('webp', '白色')).hits[0]).toMatchObject({ mime: 'image/webp', durationMs: 4000, segment: { startMs: 2000 } });
  }, 60_000);
});
