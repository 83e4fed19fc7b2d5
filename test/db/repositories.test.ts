import { randomUUID } from 'node:crypto';
import { repositoriesOver, type Repositories } from '../../src/db/repositories';
import type { PendingImage } from '../../src/db/repositories';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

type Photo = Omit<PendingImage, 'itemId'>;

const image = (owner: string, n: number, extra: Partial<Photo> = {}): Photo => ({
  id: randomUUID(),
  owner,
  externalId: null,
  camera: null,
  latitude: null,
  longitude: null,
  mediaType: 'image',
  durationMs: null,
  videoCodec: null,
  segmentCount: 0,
  frameTimesMs: [],
  phash: null,
  sharpness: null,
  edited: false,
  sha256: n.toString(16).padStart(64, '0'),
  sourceKind: 'folder',
  source: `/photos/${n}.jpg`,
  mime: 'image/jpeg',
  width: 10,
  height: 10,
  bytes: 100,
  albums: [],
  albumsAdded: [],
  takenAt: null,
  favorite: false,
  hidden: false,
  archived: false,
  tags: [],
  ...extra,
});

describe('repositories on a real PostgreSQL', () => {
  let t: TestDatabase;
  let repos: Repositories;
  beforeAll(async () => {
    t = await createTestDatabase();
    repos = repositoriesOver(t.db);
  });
  afterAll(() => t.drop());

  /** Writes image rows as a job of their own does (its items then out of the way); returns the ids written. */
  async function writePending(photos: readonly Photo[]): Promise<Set<string>> {
    if (photos.length === 0) return repos.ingest.upsertPendingImages([]);
    const jobId = await repos.ingest.createJob(
      { owner: photos[0]!.owner, kind: 'folder' },
      photos.map((_, k) => ({ source: `photo-${k}` })),
    );
    const items = await repos.ingest.claimPendingItems(jobId, undefined);
    const itemOf = new Map(items.map((i) => [i.source, i.id]));
    const written = await repos.ingest.upsertPendingImages(photos.map((p, k) => ({ ...p, itemId: itemOf.get(`photo-${k}`)! })));
    await t.db.ingestItem.updateMany({ where: { jobId }, data: { state: 'done' } });
    await t.db.ingestJob.update({ where: { id: jobId }, data: { state: 'completed' } });
    return written;
  }

  test('ping answers', async () => {
    await expect(repos.ping()).resolves.toBeUndefined();
  });

  test('a batch is written pending, then indexed together with its items; a store failure records the error on both', async () => {
    const jobId = await repos.ingest.createJob({ owner: 'alice', kind: 'folder', albums: ['trip'] }, [
      { source: '/photos/1.jpg' },
      { source: '/photos/2.jpg' },
      { source: '/photos/1.jpg' },
    ]);
    const items = await repos.ingest.claimPendingItems(jobId, undefined);
    expect(items.map((i) => i.source).sort()).toEqual(['/photos/1.jpg', '/photos/2.jpg']);
    expect((await repos.ingest.findJob(jobId))?.total).toBe(3);

    const [a, b] = [image('alice', 1, { albums: ['trip'] }), image('alice', 2)];
    await repos.ingest.upsertPendingImages([
      { ...a, itemId: items[0]!.id },
      { ...b, itemId: items[1]!.id },
    ]);
    expect(await repos.images.indexedByIds([a.id, b.id])).toEqual([]);
    await repos.ingest.recordStoreFailure([{ itemId: items[0]!.id, imageId: a.id }], 'vector store unavailable: down');
    expect((await repos.images.findById(a.id))?.error).toBe('vector store unavailable: down');
    expect(await repos.ingest.recentErrors(jobId, 5)).toEqual([{ source: items[0]!.source, error: 'vector store unavailable: down' }]);
    // The failed item names its image (since its row was written): a re-index queued meanwhile leaves it to this job.
    expect(await repos.ingest.imagesAwaitingJobs()).toContain(a.id);
    expect((await t.db.ingestItem.findUnique({ where: { id: items[0]!.id } }))?.attempts).toBe(1);

    await repos.ingest.markIndexed('pack@1', [
      { itemId: items[0]!.id, imageId: a.id },
      { itemId: items[1]!.id, imageId: b.id },
    ]);
    expect((await repos.images.indexedByIds([a.id, b.id], { owner: 'alice' })).map((r) => r.id).sort()).toEqual([a.id, b.id].sort());
    expect(await repos.images.indexedByIds([a.id], { owner: 'bob' })).toEqual([]);
    expect(await repos.ingest.itemCounts(jobId)).toEqual({ done: 2, skipped: 0, failed: 0, pending: 0 });
    // One statement marks the batch's items: each gets its own image, and the store failure's error is cleared.
    const rows = await t.db.ingestItem.findMany({ where: { jobId }, select: { id: true, imageId: true, error: true } });
    expect(new Map(rows.map((r) => [r.id, { imageId: r.imageId, error: r.error }]))).toEqual(
      new Map([
        [items[0]!.id, { imageId: a.id, error: null }],
        [items[1]!.id, { imageId: b.id, error: null }],
      ]),
    );
    expect(await repos.images.ingestState({ id: a.id }, 'alice')).toMatchObject({ state: 'indexed', modelPack: 'pack@1', albums: ['trip'] });
  });

  test('near-duplicates: one query finds a batch of photos their hash neighbours; one link call merges the groups a batch joins', async () => {
    const photos = [-1n, -2n, 0n, 1n, 3n, 0xffn, null, null, null, null, null].map((phash, n) => image('gina', 100 + n, { phash }));
    await writePending(photos);
    const [p1, p2, p3, p4, p5, p6, p7, p8, q1, q2, q3] = photos.map((p) => p.id);
    const hits = await repos.duplicates.phashNeighbours(
      'gina',
      [
        { imageId: p1!, phash: -1n },
        { imageId: p3!, phash: 0n },
      ],
      2,
    );
    expect(hits).toEqual(
      expect.arrayContaining([
        { of: p1, id: p2, distance: 1 },
        { of: p3, id: p4, distance: 1 },
        { of: p3, id: p5, distance: 2 },
      ]),
    );
    expect(hits).toHaveLength(3);

    const point = (id: string) => ({ pointId: id, imageId: id, segment: 0 });
    const link = (id: string, via: 'vector' | 'phash', similarity: number) => ({ ...point(id), via, similarity });
    const members = async () => {
      const groups = await repos.duplicates.listGroups('gina', 0, 10, true);
      return groups.map((g) => ({ id: g.id, dismissed: g.dismissedAt !== null, members: g.members.map((m) => [m.pointId, m.via, m.similarity]) }));
    };
    await repos.duplicates.link('gina', [
      { point: point(p1!), neighbours: [link(p2!, 'vector', 0.5)] },
      { point: point(p3!), neighbours: [link(p4!, 'phash', 0.75)] },
    ]);
    const first = await members();
    const [g12, g34] = [p1, p3].map((p) => first.find((g) => g.members.some((m) => m[0] === p)));
    expect(new Set(g12!.members.map((m) => m[0]))).toEqual(new Set([p1, p2]));
    expect(new Set(g34!.members.map((m) => m[0]))).toEqual(new Set([p3, p4]));
    await repos.duplicates.dismiss('gina', g34!.id);

    // p5 joins both groups and p6 joins p5: one group, the first of the two by id, shown again.
    await repos.duplicates.link('gina', [
      { point: point(p5!), neighbours: [link(p2!, 'vector', 0.25), link(p4!, 'phash', 0.5)] },
      { point: point(p6!), neighbours: [link(p5!, 'vector', 0.75)] },
    ]);
    const [merged, ...rest] = await members();
    expect(rest).toEqual([]);
    expect(merged!.id).toBe([g12!.id, g34!.id].sort()[0]);
    expect(merged!.dismissed).toBe(false);
    // A point joins with the first link that named it: p5 as a point (its best link), p6 likewise.
    expect(new Map(merged!.members.map((m) => [m[0], m.slice(1)]))).toEqual(
      new Map([
        [p1, ['vector', 0.5]],
        [p2, ['vector', 0.5]],
        [p3, ['phash', 0.75]],
        [p4, ['phash', 0.75]],
        [p5, ['phash', 0.5]],
        [p6, ['vector', 0.75]],
      ]),
    );
    expect(await t.db.duplicateGroup.count({ where: { owner: 'gina' } })).toBe(1);

    // Two batches linking into the same new pair at once still make one group (the owner's links are serialised).
    await Promise.all([
      repos.duplicates.link('gina', [{ point: point(q1!), neighbours: [link(p7!, 'vector', 0.5)] }]),
      repos.duplicates.link('gina', [{ point: point(q2!), neighbours: [link(p7!, 'vector', 0.5), link(p8!, 'vector', 0.5)] }]),
      repos.duplicates.link('gina', [{ point: point(q3!), neighbours: [link(p8!, 'vector', 0.5)] }]),
    ]);
    const groups = await members();
    expect(groups).toHaveLength(2);
    expect(groups.map((g) => new Set(g.members.map((m) => m[0])))).toContainEqual(new Set([p7, p8, q1, q2, q3]));
  });

  test('claiming pages through pending items in a stable order; jobs end completed, queued by an outage, or failed', async () => {
    const jobId = await repos.ingest.createJob(
      { owner: 'bob', kind: 'url' },
      Array.from({ length: 7 }, (_, i) => ({ source: `https://example.test/${i}.jpg` })),
    );
    const first = await repos.ingest.claimPendingItems(jobId, undefined, 3);
    const second = await repos.ingest.claimPendingItems(jobId, first[2]!.id, 3);
    const third = await repos.ingest.claimPendingItems(jobId, second[2]!.id, 3);
    expect([...first, ...second, ...third].map((i) => i.id)).toEqual([...new Set([...first, ...second, ...third].map((i) => i.id))]);
    expect(third).toHaveLength(1);
    await repos.ingest.markItemFailed(first[0]!.id, 'not an image');
    expect((await repos.ingest.itemCounts(jobId)).failed).toBe(1);

    const job = (await repos.ingest.findJob(jobId))!;
    await repos.ingest.markRunning(job);
    expect(await repos.ingest.unfinishedJobIds()).toContain(jobId);
    await repos.ingest.markOutage(jobId, 'store down', 60_000);
    expect(await repos.ingest.findJob(jobId)).toMatchObject({ state: 'queued', error: 'store down', finishedAt: null, retries: 1 });
    await repos.ingest.markFailed(jobId, 'broken');
    expect((await repos.ingest.findJob(jobId))?.state).toBe('failed');
    await repos.ingest.markCompleted(jobId);
    expect(await repos.ingest.unfinishedJobIds()).not.toContain(jobId);
  });

  test('job leases: one holder at a time, renewed while held, free again when released, run out or cancelled', async () => {
    // Earlier tests' unfinished jobs are out of the way: the queue holds only this test's.
    await t.db.ingestJob.updateMany({ where: { state: { in: ['queued', 'running'] } }, data: { state: 'cancelled' } });
    const lee = { owner: 'lee', kind: 'folder' } as const;
    const older = await repos.ingest.createJob(lee);
    const newer = await repos.ingest.createJob(lee);
    const waiting = await repos.ingest.createJob(lee);
    // A job created for its creator to run (the CLI) is held from the start.
    const own = await repos.ingest.createJob({ ...lee, lease: { holder: 'cli', leaseMs: 60_000 } }, [{ source: '/x.jpg' }]);
    expect(await repos.ingest.isLeased(own)).toBe(true);
    expect(await repos.ingest.claimJob(own, 'cli', 60_000)).toBe(true);
    await repos.ingest.markOutage(waiting, 'store down', 60_000);
    // Two instances claiming at once get different jobs, oldest first; a job waiting out its retry delay is nobody's.
    const [a, b] = await Promise.all([repos.ingest.claimNextJob('A', 60_000), repos.ingest.claimNextJob('B', 60_000)]);
    expect(new Set([a?.id, b?.id])).toEqual(new Set([older, newer]));
    expect(await repos.ingest.claimNextJob('C', 60_000)).toBeNull();
    expect(await repos.ingest.countWaitingJobs()).toBe(1);
    const heldByA = a!.id;
    expect(await repos.ingest.claimJob(heldByA, 'B', 60_000)).toBe(false);
    expect(await repos.ingest.claimJob(heldByA, 'A', 60_000)).toBe(true);
    expect(await repos.ingest.renewLease(heldByA, 'B', 60_000)).toBe(false);
    expect(await repos.ingest.renewLease(heldByA, 'A', 60_000)).toBe(true);
    expect(await repos.ingest.isLeased(heldByA)).toBe(true);
    // Asked for by name, a job waiting out its retry delay can be run.
    expect(await repos.ingest.claimJob(waiting, 'C', 60_000)).toBe(true);

    await repos.ingest.releaseLease(heldByA, 'A');
    expect(await repos.ingest.isLeased(heldByA)).toBe(false);
    expect((await repos.ingest.claimNextJob('B', 50))?.id).toBe(heldByA);
    // A lease that runs out (its holder crashed) frees the job: the holder's late renewal fails.
    await new Promise((r) => setTimeout(r, 120));
    expect(await repos.ingest.isLeased(heldByA)).toBe(false);
    expect(await repos.ingest.claimJob(heldByA, 'C', 60_000)).toBe(true);
    expect(await repos.ingest.renewLease(heldByA, 'B', 60_000)).toBe(false);
    // A cancelled job's holder finds out when it next renews.
    await repos.ingest.cancel(heldByA, undefined);
    expect(await repos.ingest.renewLease(heldByA, 'C', 60_000)).toBe(false);
    expect(await repos.ingest.claimJob(heldByA, 'D', 60_000)).toBe(false);
  });

  test("jobs take turns: the next claimed is of the owner served least recently, then that owner's job served least recently", async () => {
    await t.db.ingestJob.updateMany({ where: { state: { in: ['queued', 'running'] } }, data: { state: 'cancelled' } });
    const big1 = await repos.ingest.createJob({ owner: 'tia', kind: 'folder' });
    expect(await repos.ingest.claimNextJob('W', 60_000)).toMatchObject({ id: big1 });
    expect(await repos.ingest.anyJobWaiting()).toBe(false);
    const small = await repos.ingest.createJob({ owner: 'uma', kind: 'url' });
    const big2 = await repos.ingest.createJob({ owner: 'tia', kind: 'folder' });
    expect(await repos.ingest.anyJobWaiting()).toBe(true);
    // Each turn ends with work left, as a job that gives way does.
    const endTurn = async (id: string) => {
      await repos.ingest.endTurn(id);
      await repos.ingest.releaseLease(id, 'W');
    };
    const turn = async () => {
      const job = await repos.ingest.claimNextJob('W', 60_000);
      if (job) await endTurn(job.id);
      return job?.id;
    };
    await endTurn(big1);
    // uma, never served, first; then tia's second job (queued before her first went back), uma's again, tia's
    // first: each owner in turn, and each owner's jobs in turn.
    expect([await turn(), await turn(), await turn(), await turn()]).toEqual([small, big2, small, big1]);
    // A job waiting out a retry delay is no one's to give way to.
    for (const id of [big1, big2, small]) await repos.ingest.markOutage(id, 'store down', 60_000);
    expect(await repos.ingest.anyJobWaiting()).toBe(false);
    await t.db.ingestJob.updateMany({ where: { id: { in: [big1, big2, small] } }, data: { state: 'cancelled' } });
  });

  /** Writes these images of one owner and marks them indexed, as an ingest job does; returns a filter to their ids. */
  async function indexed(imgs: Photo[]) {
    await writePending(imgs);
    const jobId = await repos.ingest.createJob(
      { owner: imgs[0]!.owner, kind: 'folder' },
      imgs.map((img) => ({ source: img.source })),
    );
    const items = await repos.ingest.claimPendingItems(jobId, undefined);
    const bySource = new Map(imgs.map((img) => [img.source, img.id]));
    await repos.ingest.markIndexed(
      'pack@1',
      items.map((it) => ({ itemId: it.id, imageId: bySource.get(it.source)! })),
    );
  }

  test('OCR pages are leased: two readers never get the same image; given back or run out, an image is offered again', async () => {
    const imgs = Array.from({ length: 6 }, (_, i) => image('ola', 300 + i, { ocrState: 'pending' }));
    await indexed(imgs);
    const ours = new Set(imgs.map((i) => i.id));
    const mine = (rows: { id: string }[]) => rows.map((r) => r.id).filter((id) => ours.has(id));

    const [first, second] = await Promise.all([repos.ocr.claimPendingOcr(4, 60_000), repos.ocr.claimPendingOcr(4, 60_000)]);
    const both = [...mine(first), ...mine(second)];
    expect(new Set(both).size).toBe(both.length);
    expect(new Set(both)).toEqual(ours);
    expect(mine(await repos.ocr.claimPendingOcr(10, 60_000))).toEqual([]);
    await repos.ocr.releaseOcr([imgs[0]!.id]);
    expect(mine(await repos.ocr.claimPendingOcr(10, 50))).toEqual([imgs[0]!.id]);
    await new Promise((r) => setTimeout(r, 120));
    expect(await repos.ocr.hasClaimableOcr()).toBe(true);
    expect(mine(await repos.ocr.claimPendingOcr(10, 60_000))).toEqual([imgs[0]!.id]);
  });

  test("OCR's and the image stages' pages: every waiting owner's oldest before anyone's second", async () => {
    // pam's five photos were ingested before quy's one.
    const pam = Array.from({ length: 5 }, (_, i) => image('pam', 400 + i, { ocrState: 'pending' }));
    const quy = image('quy', 410, { ocrState: 'pending' });
    await indexed(pam);
    await indexed([quy]);
    const ids = (rows: { id?: string; imageId?: string }[]) => rows.map((r) => r.id ?? r.imageId);
    // Ingested in one statement, pam's are in the order of their ids.
    const pamIds = pam.map((p) => p.id).sort();
    const ocrPage = ids(await repos.ocr.claimPendingOcr(2, 60_000));
    expect(ocrPage).toHaveLength(2);
    expect(ocrPage).toEqual(expect.arrayContaining([pamIds[0], quy.id]));
    // Then pam's next ones, oldest first.
    expect(ids(await repos.ocr.claimPendingOcr(2, 60_000)).sort()).toEqual([pamIds[1], pamIds[2]]);

    await repos.stageTasks.enqueue(
      'turns',
      'v1',
      pam.map((p) => ({ imageId: p.id, owner: 'pam' })),
    );
    await new Promise((r) => setTimeout(r, 5));
    // The same image twice in one batch (a photo and its copy in one upload) is queued once, not refused.
    await repos.stageTasks.enqueue('turns', 'v1', [
      { imageId: quy.id, owner: 'quy' },
      { imageId: quy.id, owner: 'quy' },
    ]);
    const stagePage = ids(await repos.stageTasks.claim('turns', 2, 60_000, 'H'));
    expect(stagePage).toHaveLength(2);
    expect(stagePage).toContain(quy.id);
    // Two claims at once still get different tasks.
    const [a, b] = await Promise.all([repos.stageTasks.claim('turns', 2, 60_000, 'H'), repos.stageTasks.claim('turns', 2, 60_000, 'I')]);
    expect(new Set([...stagePage, ...ids(a), ...ids(b)]).size).toBe(6);
  });

  test("a batch's image rows are written in one statement: every field kept, refreshed in place when written again", async () => {
    const img = image('hana', 30, {
      externalId: 'e1',
      albums: ['旅行', 'b'],
      takenAt: new Date('2024-05-01T10:00:00.123Z'),
      tags: ['猫'],
      camera: 'Apple iPhone 15 Pro',
      latitude: 31.2304,
      longitude: 121.4737,
      mediaType: 'video',
      durationMs: 3000,
      videoCodec: 'h264',
      segmentCount: 2,
      frameTimesMs: [-1, 0, 1500],
      phash: -(2n ** 63n) + 5n,
      sharpness: 12.5,
      edited: true,
      favorite: true,
      ocrState: 'pending',
    });
    await writePending([img]);
    const row = () => t.db.image.findUniqueOrThrow({ where: { id: img.id } });
    const { ocrState: _, ...fields } = img;
    const { albumsAdded: __, ...columns } = fields;
    expect(await row()).toMatchObject({ ...columns, state: 'pending', error: null, deletedAt: null, ocrState: 'pending', modelPack: null });

    // Deleted, then the same content again (twice in one batch, the later wins): back as pending, text read kept.
    await t.db.image.update({ where: { id: img.id }, data: { state: 'indexed', ocrState: 'done', deletedAt: new Date() } });
    await writePending([
      { ...fields, source: '/photos/b.jpg' },
      { ...fields, source: '/photos/c.jpg', albums: [] },
    ]);
    expect(await row()).toMatchObject({ source: '/photos/c.jpg', albums: [], state: 'pending', deletedAt: null, ocrState: 'done' });
    await writePending([img]);
    expect((await row()).ocrState).toBe('pending');
    await expect(writePending([])).resolves.toEqual(new Set());
    // A lone surrogate (a product's id, say) is stored as U+FFFD, as the pg driver's UTF-8 encoding did, not refused by jsonb.
    const odd = image('hana', 31, { externalId: 'id-\ud800-x', source: 'https://example.com/\udc00.jpg' });
    await writePending([odd]);
    expect(await t.db.image.findUniqueOrThrow({ where: { id: odd.id } })).toMatchObject({
      externalId: 'id-\ufffd-x',
      source: 'https://example.com/\ufffd.jpg',
    });
  });

  test("a live row keeps what its owner set while the batch was encoded; the batch adds its job's albums", async () => {
    const img = image('kim', 40, { albums: ['a'], tags: ['old'], takenAt: new Date('2024-01-01T00:00:00Z') });
    await writePending([img]);
    const row = () => t.db.image.findUniqueOrThrow({ where: { id: img.id } });
    // The batch read the row, then a PATCH was acknowledged before the batch wrote: the PATCH stays in effect.
    const patched = { tags: ['new'], favorite: true, hidden: true, archived: true, albums: ['b'], takenAt: new Date('2020-05-05T00:00:00Z') };
    await t.db.image.update({ where: { id: img.id }, data: patched });
    await writePending([{ ...img, albums: ['a', 'trip'], albumsAdded: ['trip'], source: '/photos/again.jpg' }]);
    expect(await row()).toMatchObject({ ...patched, albums: ['b', 'trip'], source: '/photos/again.jpg', state: 'pending' });
    // New bytes under the same id: the new content's capture time; the owner's flags and tags stay.
    const shot = new Date('2025-07-07T00:00:00Z');
    await writePending([{ ...img, sha256: 'f'.repeat(64), takenAt: shot }]);
    expect(await row()).toMatchObject({ tags: ['new'], favorite: true, albums: ['b', 'trip'], takenAt: shot });
  });

  test('a delete later than the ingest request wins: its items are withdrawn, and a batch written after it does not bring the photo back', async () => {
    const jobId = await repos.ingest.createJob({ owner: 'lee', kind: 'upload' }, [
      { source: 'u/1', externalId: 'lee-1' },
      { source: 'u/2', externalId: 'lee-2' },
      { source: 'u/3', externalId: 'lee-3' },
    ]);
    const other = await repos.ingest.createJob({ owner: 'max', kind: 'upload' }, [{ source: 'u/9', externalId: 'lee-2' }]);
    const items = new Map((await repos.ingest.claimPendingItems(jobId, undefined)).map((i) => [i.externalId, i]));
    const [i1, i2, i3] = ['lee-1', 'lee-2', 'lee-3'].map((e) => items.get(e));
    const [p1, p3] = [image('lee', 50, { externalId: 'lee-1' }), image('lee', 52, { externalId: 'lee-3' })];
    const first = { ...p1, itemId: i1!.id };
    // Written once (then a crash, say, before its vector): the item now names its image, so a re-index after the
    // restart leaves the photo to the item.
    expect(await repos.ingest.upsertPendingImages([first])).toEqual(new Set([p1.id]));
    expect(await repos.ingest.imagesAwaitingJobs()).toContain(p1.id);

    // Deleted while the items wait: those naming the image or bringing the external id (this owner's) end skipped.
    const deleted = await repos.images.markDeleted([{ externalId: 'lee-1' }, { externalId: 'lee-2' }], 'lee');
    expect(deleted.map((d) => d.externalId)).toEqual(['lee-1']);
    expect(await repos.ingest.withdrawItems([...deleted, { id: randomUUID(), externalId: 'lee-2', owner: 'lee' }])).toBe(2);
    const state = async (id: string) => (await t.db.ingestItem.findUniqueOrThrow({ where: { id } })).state;
    expect([await state(i1!.id), await state(i2!.id), await state(i3!.id)]).toEqual(['skipped', 'skipped', 'pending']);
    expect((await repos.ingest.claimPendingItems(other, undefined)).map((i) => i.externalId)).toEqual(['lee-2']);

    // A batch that read the photo before the delete writes nothing of it: not the marked row, nor a row after the purge.
    expect(await repos.ingest.upsertPendingImages([first])).toEqual(new Set());
    expect((await t.db.image.findUniqueOrThrow({ where: { id: p1.id } })).deletedAt).not.toBeNull();
    await repos.images.removeDeleted([p1.id]);
    expect(await repos.ingest.upsertPendingImages([first])).toEqual(new Set());
    expect(await t.db.image.findUnique({ where: { id: p1.id } })).toBeNull();

    // A row deleted after the job was asked for stays deleted, though its item is still pending (the delete raced the batch).
    expect(await repos.ingest.upsertPendingImages([{ ...p3, itemId: i3!.id }])).toEqual(new Set([p3.id]));
    await t.db.image.update({ where: { id: p3.id }, data: { deletedAt: new Date() } });
    expect(await repos.ingest.upsertPendingImages([{ ...p3, itemId: i3!.id }])).toEqual(new Set());
    expect((await t.db.image.findUniqueOrThrow({ where: { id: p3.id } })).deletedAt).not.toBeNull();
    // Asked for again after the delete: back, as a new image.
    expect(await writePending([p3])).toEqual(new Set([p3.id]));
    expect(await t.db.image.findUniqueOrThrow({ where: { id: p3.id } })).toMatchObject({ deletedAt: null, state: 'pending' });
    await t.db.ingestJob.updateMany({ where: { id: { in: [jobId, other] } }, data: { state: 'cancelled' } });
  });

  test('stale images, requeueing, and the images unfinished jobs will write', async () => {
    const old = image('carol', 10);
    const fresh = image('carol', 11);
    await writePending([old, fresh]);
    const jobId = await repos.ingest.createJob({ owner: 'carol', kind: 'folder' }, [{ source: 'x' }, { source: 'y' }]);
    const [i1, i2] = await repos.ingest.claimPendingItems(jobId, undefined);
    await repos.ingest.markIndexed('pack@1', [{ itemId: i1!.id, imageId: old.id }]);
    await repos.ingest.markIndexed('pack@2', [{ itemId: i2!.id, imageId: fresh.id }]);
    expect((await repos.images.staleForPack('pack@2')).map((s) => s.id)).toContain(old.id);
    expect((await repos.images.staleForPack('pack@2')).map((s) => s.id)).not.toContain(fresh.id);
    await repos.images.requeue([fresh.id]);
    expect(await repos.images.ingestState({ id: fresh.id }, 'carol')).toMatchObject({ state: 'pending', modelPack: null });

    await repos.ingest.createJob({ owner: '*', kind: 'reindex' }, [{ source: fresh.id, imageId: fresh.id }]);
    expect((await repos.ingest.imagesAwaitingJobs()).has(fresh.id)).toBe(true);
    expect((await repos.images.ownedBy('carol')).map((r) => r.id).sort()).toEqual([old.id, fresh.id].sort());
  });

  test('texts and the captions cached for images', async () => {
    const img = image('dave', 20);
    await writePending([img]);
    const id = randomUUID();
    await repos.texts.upsertPending([{ id, owner: 'dave', externalId: 'p1', text: '红色的花' }]);
    expect(await repos.texts.indexedByIds([id])).toEqual([]);
    expect((await repos.texts.staleForPack('pack@1', 10)).map((r) => r.id)).toContain(id);
    await repos.texts.markIndexed([id], 'pack@1');
    expect((await repos.texts.indexedByIds([id]))[0]).toMatchObject({ text: '红色的花', externalId: 'p1', modelPack: 'pack@1' });
    expect((await repos.texts.staleForPack('pack@1', 10)).map((r) => r.id)).not.toContain(id);

    await repos.texts.saveCaption(img.id, 'retrieval:x', { text: '一朵花', score: 0.9, original: 'a flower' });
    await repos.texts.saveCaption(img.id, 'retrieval:x', { text: '一朵红花', score: 0.95 });
    expect(await repos.texts.cachedCaptions([img.id], 'retrieval:x')).toEqual([expect.objectContaining({ text: '一朵红花', score: 0.95, original: null })]);
    await repos.texts.dropCaptions('retrieval:x', ['someone-else']);
    expect(await repos.texts.cachedCaptions([img.id], 'retrieval:x')).toHaveLength(1);
    await repos.texts.dropCaptions('retrieval:x', ['dave']);
    expect(await repos.texts.cachedCaptions([img.id], 'retrieval:x')).toHaveLength(0);
  });

  test('webhook deliveries: a due one is leased once; one recorded leased to its sender (a test event) is not due', async () => {
    const hook = await repos.webhooks.create({ owner: 'fay', url: 'http://127.0.0.1:1/hook', secret: 's', events: [] });
    const envelope = (type: string) => ({ webhookId: hook.id, eventId: randomUUID(), type, body: '{}' });
    const leased = await repos.webhooks.addLeasedDelivery(envelope('webhook.test'), 60_000);
    expect(leased).toMatchObject({ state: 'pending', attempts: 0, webhook: { url: hook.url, secret: 's' } });
    const due = envelope('job.completed');
    await repos.webhooks.addDeliveries([due]);
    const claimed = await repos.webhooks.claimDue(10, 60_000);
    expect(claimed.map((d) => d.eventId)).toEqual([due.eventId]);
    expect(await repos.webhooks.claimDue(10, 60_000)).toEqual([]);
  });

  test('API keys: found by hash, revoked by id or prefix once', async () => {
    const row = await repos.apiKeys.create({ name: 'k', prefix: 'isk_abcdefgh', hash: 'h'.repeat(64), owner: 'erin', scopes: ['search'] });
    expect((await repos.apiKeys.findByHash('h'.repeat(64)))?.id).toBe(row.id);
    await repos.apiKeys.touchLastUsed(row.id);
    expect((await repos.apiKeys.findByHash('h'.repeat(64)))?.lastUsedAt).toBeInstanceOf(Date);
    expect(await repos.apiKeys.revoke({ prefix: 'isk_abcdefgh' })).toBe(1);
    expect(await repos.apiKeys.revoke({ id: row.id })).toBe(0);
    expect((await repos.apiKeys.listOldestFirst()).map((k) => k.id)).toContain(row.id);
  });
});
