import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { hammingDistance, similarityOf } from '../../src/images/similarity';
import { keeperOf } from '../../src/duplicates/duplicateService';
import type { ImageRow } from '../../src/db/repositories';
import { smoothPhoto } from '../../bench/fixtures';
import { colourImage } from '../helpers/images';
import { startTestService, waitForJob, type TestService } from '../helpers/service';
import { colourVideo } from '../helpers/video';

const raw = async (jpeg: Buffer) => {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
};

describe('near-duplicates', () => {
  test("the difference hash survives re-encoding, resizing, brightening and EXIF rotation; another picture's does not", async () => {
    const base = await smoothPhoto(640, 480, 1).jpeg({ quality: 92 }).toBuffer();
    const hash = async (jpeg: Buffer) => (await similarityOf(await raw(await sharp(jpeg).rotate().toBuffer()))).phash!;
    const h0 = await hash(base);
    const variants = [
      await sharp(base).jpeg({ quality: 50 }).toBuffer(),
      await sharp(base).resize(320).jpeg().toBuffer(),
      await sharp(base).modulate({ brightness: 1.1 }).jpeg().toBuffer(),
      // Stored turned a quarter with orientation 8: upright it is the same picture.
      await sharp(await sharp(base).rotate(90).toBuffer())
        .withMetadata({ orientation: 8 })
        .jpeg()
        .toBuffer(),
    ];
    for (const v of variants) expect(hammingDistance(h0, await hash(v))).toBeLessThanOrEqual(6);
    // Another picture: the same scene upside down is a different picture to the hash.
    const other = await sharp(base).rotate(180).jpeg().toBuffer();
    expect(hammingDistance(h0, await hash(other))).toBeGreaterThan(12);
    // A flat picture has no hash: its bits would be noise, alike for every flat picture.
    expect((await similarityOf(await raw(await colourImage('red', { format: 'jpeg' })))).phash).toBeNull();
  });

  test('the suggested keeper is the unedited one, then the largest, then the sharpest', () => {
    const row = (id: string, o: Partial<ImageRow>) =>
      ({ id, edited: false, width: 100, height: 100, sharpness: 1, bytes: 10, takenAt: null, ...o }) as ImageRow;
    expect(keeperOf([row('a', { width: 200, edited: true }), row('b', {}), row('c', { sharpness: 5 })]).id).toBe('c');
    expect(keeperOf([row('a', { width: 50 }), row('b', { width: 400, height: 300 })]).id).toBe('b');
  });

  describe('through the service', () => {
    let svc: TestService;
    beforeAll(async () => {
      svc = await startTestService({ OCR: 'off', DUPLICATE_THRESHOLD: '0.995' });
    }, 60_000);
    afterAll(() => svc.close());

    const ingestFolder = async (owner: string, folder: string) => {
      const res = await svc.api().post('/v1/admin/ingest').send({ owner, folder });
      return waitForJob(svc, res.body.jobId, 60_000);
    };
    const groups = async (owner: string, extra: Record<string, string> = {}) => {
      const res = await svc
        .api()
        .get('/v1/duplicates')
        .query({ owner, ...extra });
      expect(res.status).toBe(200);
      return res.body as {
        groups: { id: string; suggestedKeep: string; members: { image: { id: string; source: string }; segment: number | null; via: string }[] }[];
        nextCursor: string | null;
      };
    };
    const names = (g: { members: { image: { source: string }; segment: number | null }[] }) =>
      g.members.map((m) => `${path.basename(m.image.source)}${m.segment !== null ? `#${m.segment}` : ''}`).sort();

    test('copies and bursts are grouped as they arrive, across jobs; distinct photos are not', async () => {
      const dir = path.join(svc.inbox, 'dups');
      await mkdir(dir, { recursive: true });
      const base = await smoothPhoto(800, 600, 7).jpeg({ quality: 92 }).toBuffer();
      await writeFile(path.join(dir, 'a.jpg'), base);
      await writeFile(path.join(dir, 'a-small.jpg'), await sharp(base).resize(400).jpeg({ quality: 60 }).toBuffer());
      await writeFile(path.join(dir, 'red1.png'), await colourImage('red', { seed: 1 }));
      await writeFile(path.join(dir, 'blue.png'), await colourImage('blue', { seed: 1 }));
      expect(await ingestFolder('dora', dir)).toMatchObject({ done: 4 });
      // A second job later: a near-identical red shot (a burst) joins incrementally.
      const later = path.join(svc.inbox, 'dups-later');
      await mkdir(later, { recursive: true });
      await writeFile(path.join(later, 'red2.png'), await colourImage('red', { seed: 2 }));
      expect(await ingestFolder('dora', later)).toMatchObject({ done: 1 });

      const { groups: found } = await groups('dora');
      expect(found.map(names).sort()).toEqual([
        ['a-small.jpg', 'a.jpg'],
        ['red1.png', 'red2.png'],
      ]);
      const copies = found.find((g) => names(g).includes('a.jpg'))!;
      expect(copies.members.map((m) => m.via)).toContain('phash');
      // The bigger, sharper original is the one to keep.
      expect(copies.members.find((m) => m.image.id === copies.suggestedKeep)!.image.source).toMatch(/\/a\.jpg$/);
      // Another owner's identical photo is not this owner's duplicate.
      expect((await groups('nobody')).groups).toEqual([]);
    }, 60_000);

    test('a video frame that repeats a photo is grouped with it; dismissing hides a group until a new copy joins', async () => {
      const dir = path.join(svc.inbox, 'mixed');
      await mkdir(dir, { recursive: true });
      await writeFile(
        path.join(dir, 'clip.mp4'),
        await colourVideo({
          spans: [
            { colour: 'purple', seconds: 2 },
            { colour: 'orange', seconds: 2 },
          ],
        }),
      );
      await writeFile(path.join(dir, 'orange.png'), await colourImage('orange', { seed: 3 }));
      await ingestFolder('erin', dir);
      let { groups: found } = await groups('erin');
      expect(found).toHaveLength(1);
      const [mixed] = found;
      expect(names(mixed!)).toEqual([expect.stringMatching(/^clip\.mp4#\d+$/), 'orange.png']);

      expect((await svc.api().post(`/v1/duplicates/${mixed!.id}/dismiss`).query({ owner: 'erin' })).body).toEqual({ id: mixed!.id, dismissed: true });
      expect((await groups('erin')).groups).toEqual([]);
      expect((await groups('erin', { includeDismissed: 'true' })).groups).toHaveLength(1);
      expect((await svc.api().post(`/v1/duplicates/${mixed!.id}/dismiss`).query({ owner: 'dora' })).status).toBe(404);

      await writeFile(path.join(dir, 'orange2.png'), await colourImage('orange', { seed: 4 }));
      await ingestFolder('erin', dir);
      ({ groups: found } = await groups('erin'));
      expect(found.map(names)).toEqual([[expect.stringMatching(/^clip\.mp4#\d+$/), 'orange.png', 'orange2.png']]);

      // Deleted members leave; a group left with one asset is no group.
      for (const m of found[0]!.members.filter((x) => x.segment === null)) expect((await svc.api().delete(`/v1/images/${m.image.id}`)).status).toBe(200);
      expect((await groups('erin')).groups).toEqual([]);
    }, 60_000);

    test('pages of groups; bad input is refused', async () => {
      const first = await groups('dora', { limit: '1' });
      expect(first.groups).toHaveLength(1);
      const second = await groups('dora', { limit: '1', cursor: first.nextCursor! });
      expect(second.groups).toHaveLength(1);
      expect(second.nextCursor).toBeNull();
      expect(second.groups[0]!.id).not.toBe(first.groups[0]!.id);
      expect((await svc.api().get('/v1/duplicates')).status).toBe(400);
      expect((await svc.api().post('/v1/duplicates/not-a-uuid/dismiss').query({ owner: 'dora' })).status).toBe(400);
    });
  });
});
