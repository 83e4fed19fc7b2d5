import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ImageSearchClient, ImageSearchError, verifyWebhook } from '../../src/client/imageSearchClient';
import { colourImage } from '../helpers/images';
import { heicFrom } from '../helpers/heic';
import { colourVideo } from '../helpers/video';
import { ADMIN_KEY, startTestService, type TestService } from '../helpers/service';
import { eventually, startReceiver, type Received } from '../helpers/webhookReceiver';

/** How a photo product integrates, over real HTTP with the typed client: README "Integrating a photo app". */
describe('photo app integration (client, real HTTP, real Postgres)', () => {
  let svc: TestService;
  let server: http.Server;
  let client: ImageSearchClient;
  let baseUrl: string;

  beforeAll(async () => {
    svc = await startTestService({ WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_BASE_MS: '100', WEBHOOK_POLL_MS: '100', WATCH_DEBOUNCE_MS: '200' });
    server = svc.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    client = new ImageSearchClient({ baseUrl, apiKey: ADMIN_KEY });
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await svc.close();
    await svc.database.drop();
  });

  test('upload with externalIds, find, patch, replace, delete everywhere; signed webhooks with a retry', async () => {
    const receiver = await startReceiver({ failFirst: true });
    try {
      const hook = await client.createWebhook({ url: receiver.url, owner: 'mia' });
      expect(hook.secret).toMatch(/^whsec_/);
      // A global subscription (operator, no owner) hears every owner; another owner's only its own.
      const global = await startReceiver({ failFirst: true });
      const globalHook = await client.createWebhook({ url: global.url, events: ['image.deleted'] });
      const other = await startReceiver({ failFirst: true });
      await client.createWebhook({ url: other.url, owner: 'someone-else' });

      const files = await Promise.all(
        (['red', 'blue', 'green'] as const).map(async (c) => ({ name: `${c}.png`, data: await colourImage(c), externalId: `asset-${c}` })),
      );
      const { jobId } = await client.ingest({ owner: 'mia', files });
      expect(await client.waitForJob(jobId)).toMatchObject({ state: 'completed', done: 3 });

      const found = await client.searchText({ query: '红色', limit: 1, filters: { owner: 'mia' } });
      expect(found.hits[0]).toMatchObject({ externalId: 'asset-red', owner: 'mia' });
      const red = found.hits[0]!;

      // Albums change, and the filters follow at once, in the listing and in search.
      await client.updateByExternalId('asset-red', { albums: ['假期'], favorite: true }, 'mia');
      expect((await client.listImages({ owner: 'mia', album: '假期' })).images.map((i) => i.externalId)).toEqual(['asset-red']);
      expect((await client.searchText({ query: '蓝色', filters: { owner: 'mia', album: '假期' } })).hits.map((h) => h.externalId)).toEqual(['asset-red']);
      expect((await client.listImages({ owner: 'mia', favorite: false })).images.map((i) => i.externalId).sort()).toEqual(['asset-blue', 'asset-green']);

      // New bytes under the same externalId replace the image: same id, new content, files and vector, owner's settings kept.
      const oldThumbnail = await client.thumbnail(red.id);
      const again = await client.ingest({ owner: 'mia', files: [{ name: 'red.png', data: await colourImage('yellow'), externalId: 'asset-red' }] });
      await client.waitForJob(again.jobId);
      const replaced = await client.getByExternalId('asset-red', 'mia');
      expect(replaced).toMatchObject({ id: red.id, albums: ['假期'], favorite: true });
      expect(replaced.sha256).not.toBe(red.sha256);
      expect((await client.thumbnail(red.id)).equals(oldThumbnail)).toBe(false);
      expect((await client.searchText({ query: '黄色', limit: 1, filters: { owner: 'mia' } })).hits[0]!.id).toBe(red.id);
      // The same bytes under another externalId are a second image of the owner.
      const twin = await client.ingest({ owner: 'mia', files: [{ name: 'twin.png', data: await colourImage('yellow'), externalId: 'asset-twin' }] });
      await client.waitForJob(twin.jobId);
      expect((await client.getByExternalId('asset-twin', 'mia')).id).not.toBe(red.id);
      // A photo and its copy in one upload are one image, announced once.
      const copy = await colourImage('green', { seed: 7 });
      const copies = await client.ingest({
        owner: 'mia',
        files: [
          { name: 'copy1.png', data: copy },
          { name: 'copy2.png', data: copy },
        ],
      });
      expect(await client.waitForJob(copies.jobId)).toMatchObject({ state: 'completed', failed: 0, pending: 0 });

      // Delete: gone from every endpoint, including URLs handed out before.
      expect(await client.deleteByExternalId('asset-red', 'mia')).toEqual({ externalId: 'asset-red', id: red.id, deleted: true });
      const gone = [
        () => client.getImage(red.id),
        () => client.getByExternalId('asset-red', 'mia'),
        () => client.getCaption(red.id),
        () => client.thumbnail(red.id),
        () => client.preview(red.id),
        () => client.searchImage({ imageId: red.id }),
        () => client.retrieveText({ imageId: red.id }),
        () => client.classify({ imageId: red.id, labels: ['红色', '黄色'] }),
        () => client.updateImage(red.id, { hidden: true }),
      ];
      for (const call of gone) await expect(call()).rejects.toMatchObject({ status: 404 });
      expect((await fetch(`${baseUrl}${red.thumbnailUrl}`)).status).toBe(404);
      for (const q of ['黄色', '红色', '蓝色']) {
        expect(
          (await client.searchText({ query: q, limit: 10, filters: { owner: 'mia', includeHidden: true, includeArchived: true } })).hits.map((h) => h.id),
        ).not.toContain(red.id);
      }
      expect((await client.listImages({ owner: 'mia', includeHidden: true, includeArchived: true })).images.map((i) => i.id)).not.toContain(red.id);
      const twinHit = (await client.searchText({ query: '黄色', limit: 10, filters: { owner: 'mia' } })).hits.map((h) => h.externalId);
      expect(twinHit).toContain('asset-twin');
      // Bulk delete by externalIds; deleting again is a no-op.
      expect((await client.deleteImages({ owner: 'mia', externalIds: ['asset-blue', 'asset-red'] })).deleted.map((d) => d.externalId)).toEqual(['asset-blue']);
      expect((await client.deleteImages({ owner: 'mia', externalIds: ['asset-blue'] })).count).toBe(0);
      await expect(client.getByExternalId('asset-blue', 'mia')).rejects.toBeInstanceOf(ImageSearchError);

      // Webhooks: every request signed; the first answered 500 and was retried with the same webhook-id.
      const types = (r: Received[]) => r.filter((x) => x.answered === 204).map((x) => (JSON.parse(x.body) as { type: string }).type);
      await eventually('webhooks', async () => {
        const t = types(receiver.received);
        return t.filter((x) => x === 'image.deleted').length === 2 && t.filter((x) => x === 'job.completed').length === 4 ? t : undefined;
      });
      for (const r of receiver.received) expect(verifyWebhook(hook.secret, r.headers, r.body)).toBe(true);
      expect(verifyWebhook(hook.secret, receiver.received[0]!.headers, receiver.received[0]!.body.replace('mia', 'eve'))).toBe(false);
      const firstId = receiver.received[0]!.headers['webhook-id'];
      expect(receiver.received.filter((r) => r.headers['webhook-id'] === firstId).map((r) => r.answered)).toEqual([500, 204]);
      const indexed = receiver.received
        .filter((r) => r.answered === 204)
        .map((r) => JSON.parse(r.body) as { type: string; data: { externalId: string | null } })
        .filter((e) => e.type === 'image.indexed');
      expect(indexed.map((e) => e.data.externalId ?? 'the copies').sort()).toEqual([
        'asset-blue',
        'asset-green',
        'asset-red',
        'asset-red',
        'asset-twin',
        'the copies',
      ]);
      // The receiver answers before the service records the answer, so the last delivery may still read pending.
      const log = await eventually('the delivery log', async () => {
        const l = await client.webhookDeliveries(hook.id, { limit: 100 });
        return l.deliveries.every((d) => d.state === 'delivered') ? l : undefined;
      });
      expect(log.deliveries.some((d) => d.attempts === 2 && d.lastStatus === 204)).toBe(true);
      expect(await client.testWebhook(hook.id)).toMatchObject({ state: 'delivered', status: 204 });

      await eventually('the global subscription', async () => (global.received.filter((r) => r.answered === 204).length === 2 ? true : undefined));
      expect(global.received.every((r) => verifyWebhook(globalHook.secret, r.headers, r.body))).toBe(true);
      expect(global.received.map((r) => (JSON.parse(r.body) as { type: string; owner: string }).owner)).toEqual(['mia', 'mia', 'mia']);
      expect(other.received).toEqual([]);
      await Promise.all([global.close(), other.close()]);
    } finally {
      await receiver.close();
    }
  });

  test('a watched folder: added, removed and renamed files reach the library; a restart catches up', async () => {
    const dir = path.join(svc.inbox, 'library');
    await mkdir(path.join(dir, 'trip'), { recursive: true });
    await writeFile(path.join(dir, 'a.png'), await colourImage('red', { seed: 1 }));
    await writeFile(path.join(dir, 'trip', 'b.png'), await colourImage('blue', { seed: 1 }));
    // What a phone syncs: an iPhone photo and a video.
    await writeFile(path.join(dir, 'IMG_1.HEIC'), await heicFrom([await colourImage('orange', { format: 'jpeg' })]));
    await writeFile(path.join(dir, 'clip.mp4'), await colourVideo({ spans: [{ colour: 'white', seconds: 2 }] }));
    const { folder, scan } = await client.watchFolder({ owner: 'noa', folder: 'library', albums: ['相机胶卷'], externalIdPrefix: '' });
    expect(scan).toMatchObject({ added: 4, removed: 0, renamed: 0 });
    await client.waitForJob(scan.jobId!);
    expect(await client.getByExternalId('IMG_1.HEIC', 'noa')).toMatchObject({ mime: 'image/heic', state: 'indexed' });
    expect(await client.getByExternalId('clip.mp4', 'noa')).toMatchObject({ mediaType: 'video', durationMs: 2000, state: 'indexed' });
    const before = await client.getByExternalId('a.png', 'noa');
    expect(before.albums).toEqual(['相机胶卷']);
    expect((await client.getByExternalId('trip/b.png', 'noa')).sourceKind).toBe('folder');

    const library = async () => (await client.listImages({ owner: 'noa', sort: 'ingestedAt' })).images.map((i) => i.externalId).sort();
    await writeFile(path.join(dir, 'c.png'), await colourImage('green', { seed: 1 }));
    await rename(path.join(dir, 'a.png'), path.join(dir, 'trip', 'renamed.png'));
    await rm(path.join(dir, 'trip', 'b.png'));
    await eventually('the watcher to sync', async () => {
      const ids = await library();
      return JSON.stringify(ids) === JSON.stringify(['IMG_1.HEIC', 'c.png', 'clip.mp4', 'trip/renamed.png']) ? ids : undefined;
    });
    const moved = await client.getByExternalId('trip/renamed.png', 'noa');
    expect(moved.id).toBe(before.id);
    // New bytes in place: the same image, re-embedded.
    await writeFile(path.join(dir, 'c.png'), await colourImage('yellow', { seed: 1 }));
    const c = await client.getByExternalId('c.png', 'noa');
    const changed = await eventually('the changed file', async () => {
      const now = await client.getByExternalId('c.png', 'noa');
      return now.sha256 !== c.sha256 && now.state === 'indexed' ? now : undefined;
    });
    expect(changed.id).toBe(c.id);

    // While nobody watches: the rescan after a restart compares the disk with Postgres.
    await svc.services.watcher.stop();
    await rm(path.join(dir, 'c.png'));
    await writeFile(path.join(dir, 'd.png'), await colourImage('purple', { seed: 1 }));
    await svc.services.watcher.start();
    await svc.services.ingest.idle();
    expect(await library()).toEqual(['IMG_1.HEIC', 'clip.mp4', 'd.png', 'trip/renamed.png']);
    expect((await client.listWatches('noa')).watches.map((w) => w.id)).toEqual([folder.id]);
    expect(await client.unwatchFolder(folder.id)).toEqual({ id: folder.id, deleted: true });
  });

  test('folder ingest can name files by their paths, and a repeat ingest changes nothing', async () => {
    await mkdir(path.join(svc.inbox, 'export', '2024'), { recursive: true });
    await writeFile(path.join(svc.inbox, 'export', '2024', 'x.png'), await colourImage('blue', { seed: 5 }));
    await writeFile(path.join(svc.inbox, 'export', 'y.png'), await colourImage('blue', { seed: 5 }));
    const first = await client.ingest({ owner: 'lea', folder: 'export', externalIdsFromPaths: true });
    expect(await client.waitForJob(first.jobId)).toMatchObject({ done: 2 });
    const [x, y] = await Promise.all([client.getByExternalId('2024/x.png', 'lea'), client.getByExternalId('y.png', 'lea')]);
    // Same bytes, two names: two images.
    expect(x.sha256).toBe(y.sha256);
    expect(x.id).not.toBe(y.id);
    const second = await client.ingest({ owner: 'lea', folder: 'export', externalIdsFromPaths: true });
    expect(await client.waitForJob(second.jobId)).toMatchObject({ done: 0, skipped: 2 });
    await expect(client.ingest({ owner: 'lea', urls: ['https://example.com/a.jpg'], externalIdsFromPaths: true })).rejects.toMatchObject({ status: 400 });
  });

  test('EXIF camera and GPS are read at ingest and filter listings and searches', async () => {
    const withExif = async (colourKey: string, make: string, model: string, lat: string, lon: string) =>
      (await import('sharp'))
        .default(await colourImage(colourKey, { seed: 3 }))
        .withExif({ IFD0: { Make: make, Model: model }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: lat, GPSLongitudeRef: 'E', GPSLongitude: lon } })
        .jpeg()
        .toBuffer();
    const files = [
      { name: 'beijing.jpg', data: await withExif('red', 'Apple', 'iPhone 15 Pro', '39/1 54/1 15/1', '116/1 24/1 27/1'), externalId: 'bj' },
      { name: 'shanghai.jpg', data: await withExif('red', 'Canon', 'Canon EOS R5', '31/1 13/1 49/1', '121/1 28/1 25/1'), externalId: 'sh' },
      { name: 'plain.png', data: await colourImage('red', { seed: 4 }), externalId: 'none' },
    ];
    await client.waitForJob((await client.ingest({ owner: 'ivy', files })).jobId);
    expect(await client.getByExternalId('bj', 'ivy')).toMatchObject({
      camera: 'Apple iPhone 15 Pro',
      location: { lat: expect.closeTo(39.904, 2), lon: expect.closeTo(116.407, 2) },
    });
    const listed = async (q: Parameters<ImageSearchClient['listImages']>[0]) =>
      (await client.listImages({ owner: 'ivy', ...q })).images.map((i) => i.externalId).sort();
    expect(await listed({ near: { lat: 39.9, lon: 116.4, radiusKm: 50 } })).toEqual(['bj']);
    expect(await listed({ near: { lat: 35, lon: 118, radiusKm: 1000 } })).toEqual(['bj', 'sh']);
    expect(await listed({ within: { south: 30, west: 120, north: 32, east: 123 } })).toEqual(['sh']);
    expect(await listed({ camera: 'Canon EOS R5' })).toEqual(['sh']);
    expect(await listed({ mediaType: 'image' })).toEqual(['bj', 'none', 'sh']);
    const searched = async (filters: object) =>
      (await client.searchText({ query: '红色', limit: 10, filters: { owner: 'ivy', ...filters } })).hits.map((h) => h.externalId).sort();
    expect(await searched({ near: { lat: 39.9, lon: 116.4, radiusKm: 50 } })).toEqual(['bj']);
    expect(await searched({ camera: 'Apple iPhone 15 Pro' })).toEqual(['bj']);
    expect(await searched({ within: { south: 30, west: 110, north: 45, east: 125 } })).toEqual(['bj', 'sh']);
    await expect(client.listImages({ owner: 'ivy', near: { lat: 95, lon: 0, radiusKm: 1 } })).rejects.toMatchObject({ status: 400 });
  });

  test('the client has a method for every declared route but the tools', async () => {
    const { API_ROUTES } = await import('../../src/api/contract');
    const { ImageSearchClient, TOOL_ROUTES } = await import('../../src/client/imageSearchClient');
    const client = new ImageSearchClient({ baseUrl: 'http://127.0.0.1:1' }) as unknown as Record<string, unknown>;
    const missing = Object.keys(API_ROUTES).filter((name) => !(TOOL_ROUTES as readonly string[]).includes(name) && typeof client[name] !== 'function');
    expect(missing).toEqual([]);
  });
});
