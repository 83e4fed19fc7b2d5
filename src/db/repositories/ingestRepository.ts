import { Prisma, type IngestJob } from '../generated/client';
import type { Db } from '../prisma';
import { itemImagePairs, jsonb, msFromNow } from './sqlFragments';
import { lastPerKey } from '../../util/collections';

export type JobRow = IngestJob;
export type JobKind = IngestJob['kind'];
export type SourceKind = 'folder' | 'upload' | 'url';

const ITEM_PAGE = 500;
/** An unfinished job (aliased j) nobody holds: never leased, released, or its holder's lease ran out. */
const UNHELD_JOB = Prisma.sql`j.state IN ('queued', 'running') AND (j.lease_until IS NULL OR j.lease_until < now())`;
/** A lease some process still holds: named, and not run out. */
const HELD_LEASE = Prisma.sql`lease_owner IS NOT NULL AND lease_until >= now()`;
/** An unheld job (aliased j) not waiting out a retry delay. */
const CLAIMABLE_JOB = Prisma.sql`${UNHELD_JOB} AND (j.retry_at IS NULL OR j.retry_at <= now())`;
/** A folder of a few hundred thousand files is recorded in one transaction. */
const CREATE_TIMEOUT_MS = 300_000;

export interface NewJob {
  /** Given when files are staged under the job's id before it is recorded (uploads). */
  id?: string | undefined;
  owner: string;
  kind: JobKind;
  albums?: string[] | undefined;
  lease?: { holder: string; leaseMs: number } | undefined;
}

export interface NewItem {
  source: string;
  imageId?: string | undefined;
  externalId?: string | undefined;
}

export interface PendingItem {
  id: string;
  source: string;
  externalId: string | null;
  imageId: string | null;
}

export interface ItemCounts {
  done: number;
  skipped: number;
  failed: number;
  pending: number;
}

/** The image row a batch writes before its vectors (state pending until the store has them). */
export interface PendingImage {
  /** The job item that brings it: the row is written only while the item is pending. */
  itemId: string;
  id: string;
  owner: string;
  externalId: string | null;
  sha256: string;
  sourceKind: SourceKind;
  source: string;
  mime: string;
  width: number;
  height: number;
  bytes: number;
  albums: string[];
  /** The job's albums: added to a live row's own albums (which the owner may have changed since `albums` was read). */
  albumsAdded: string[];
  takenAt: Date | null;
  favorite: boolean;
  hidden: boolean;
  archived: boolean;
  tags: string[];
  camera: string | null;
  latitude: number | null;
  longitude: number | null;
  mediaType: 'image' | 'video';
  durationMs: number | null;
  videoCodec: string | null;
  segmentCount: number;
  frameTimesMs: number[];
  /** Signed, as Postgres stores 64 bits. */
  phash: bigint | null;
  sharpness: number | null;
  edited: boolean;
  /** 'pending' when OCR will read the image; undefined leaves what is recorded (OCR off, or the bytes unchanged). */
  ocrState?: 'pending' | undefined;
}

/**
 * Ingest jobs and their items, plus the writes that commit a batch: an item's outcome and its
 * image's state change together, in one transaction, which is what keeps a crash from leaving
 * an item done whose image is not indexed.
 */
export class IngestRepository {
  constructor(private readonly db: Db) {}

  /**
   * Creates a job with all its items in one transaction: other instances claim jobs from this table,
   * so a job must never be seen before its last item is (it would end early, missing the rest).
   * Duplicates of a source are ignored. With `lease`, the job is created held by its creator, which
   * runs it at once (the CLI), so that no other instance takes it first.
   */
  async createJob(job: NewJob, items: readonly NewItem[] = []): Promise<string> {
    return this.db.$transaction(
      async (tx) => {
        const { id } = await tx.ingestJob.create({
          data: { ...(job.id ? { id: job.id } : {}), owner: job.owner, kind: job.kind, albums: job.albums ?? [], total: items.length },
        });
        for (let i = 0; i < items.length; i += ITEM_PAGE) {
          await tx.ingestItem.createMany({
            data: items.slice(i, i + ITEM_PAGE).map((it) => ({ jobId: id, source: it.source, imageId: it.imageId ?? null, externalId: it.externalId ?? null })),
            skipDuplicates: true,
          });
        }
        if (job.lease)
          await tx.$executeRaw`UPDATE ingest_jobs SET lease_owner = ${job.lease.holder}, lease_until = ${msFromNow(job.lease.leaseMs)} WHERE id = ${id}::uuid`;
        return id;
      },
      { timeout: CREATE_TIMEOUT_MS },
    );
  }

  findJob(id: string): Promise<JobRow | null> {
    return this.db.ingestJob.findUnique({ where: { id } });
  }

  async itemCounts(jobId: string): Promise<ItemCounts> {
    const counts = await this.db.ingestItem.groupBy({ by: ['state'], where: { jobId }, _count: { _all: true } });
    const n = (s: string) => counts.find((c) => c.state === s)?._count._all ?? 0;
    return { done: n('done'), skipped: n('skipped'), failed: n('failed'), pending: n('pending') };
  }

  /** The latest item errors, newest first. */
  async recentErrors(jobId: string, take: number): Promise<{ source: string; error: string }[]> {
    const rows = await this.db.ingestItem.findMany({
      where: { jobId, error: { not: null } },
      select: { source: true, error: true },
      orderBy: { updatedAt: 'desc' },
      take,
    });
    return rows.map((r) => ({ source: r.source, error: r.error ?? '' }));
  }

  /** Images that pending items of unfinished jobs will (re)write: not stuck, just waiting. */
  async imagesAwaitingJobs(): Promise<Set<string | null>> {
    const rows = await this.db.ingestItem.findMany({ where: { state: 'pending', job: { state: { in: ['queued', 'running'] } } }, select: { imageId: true } });
    return new Set(rows.map((r) => r.imageId));
  }

  /**
   * Leases an unfinished job nobody holds (or whose holder let its lease run out), skipping jobs waiting
   * out a retry delay: one of the owner whose last turn is oldest (owners never served first), and of
   * that owner's, the one that has waited longest (since its last turn ended, or since it was made).
   * So a job whose turn ends goes behind those queued meanwhile, as in round robin. SKIP LOCKED lets
   * instances claim at once without waiting on each other; the database's clock decides expiry, so
   * instances' clocks need not agree.
   */
  async claimNextJob(holder: string, leaseMs: number): Promise<JobRow | null> {
    const rows = await this.db.$queryRaw<{ id: string }[]>`
      UPDATE ingest_jobs SET lease_owner = ${holder}, lease_until = ${msFromNow(leaseMs)}, served_at = now()
      WHERE id = (
        SELECT j.id FROM ingest_jobs j
        WHERE ${CLAIMABLE_JOB}
        ORDER BY (SELECT max(s.served_at) FROM ingest_jobs s WHERE s.owner = j.owner) NULLS FIRST, coalesce(j.served_at, j.created_at), j.id
        LIMIT 1 FOR UPDATE SKIP LOCKED)
      RETURNING id`;
    return rows[0] ? this.findJob(rows[0].id) : null;
  }

  /** A job's turn ended with work left: it waits behind the jobs queued meanwhile (see claimNextJob). */
  async endTurn(jobId: string): Promise<void> {
    await this.db.$executeRaw`UPDATE ingest_jobs SET served_at = now() WHERE id = ${jobId}::uuid`;
  }

  /** Whether a job could be claimed now: a running job whose turn is long enough then gives way. */
  async anyJobWaiting(): Promise<boolean> {
    const rows = await this.db.$queryRaw<{ waiting: boolean }[]>`
      SELECT EXISTS (SELECT 1 FROM ingest_jobs j WHERE ${CLAIMABLE_JOB}) AS waiting`;
    return rows[0]?.waiting ?? false;
  }

  /** Leases this job (asked for by name, so a retry delay does not apply); false while another holds it or it has ended. */
  async claimJob(jobId: string, holder: string, leaseMs: number): Promise<boolean> {
    const n = await this.db.$executeRaw`
      UPDATE ingest_jobs SET lease_owner = ${holder}, lease_until = ${msFromNow(leaseMs)}, served_at = now()
      WHERE id = ${jobId}::uuid AND state IN ('queued', 'running')
        AND (lease_owner IS NULL OR lease_owner = ${holder} OR lease_until < now())`;
    return n > 0;
  }

  /** Extends the holder's lease; false when the job was cancelled or ended, or its lease passed to another. */
  async renewLease(jobId: string, holder: string, leaseMs: number): Promise<boolean> {
    const n = await this.db.$executeRaw`
      UPDATE ingest_jobs SET lease_until = ${msFromNow(leaseMs)}
      WHERE id = ${jobId}::uuid AND lease_owner = ${holder} AND state IN ('queued', 'running')`;
    return n > 0;
  }

  async releaseLease(jobId: string, holder: string): Promise<void> {
    await this.db.ingestJob.updateMany({ where: { id: jobId, leaseOwner: holder }, data: { leaseOwner: null, leaseUntil: null } });
  }

  /** Jobs with an unexpired lease, and who holds each: a cancelled job's holder may still be writing its last batch. */
  async leasedJobs(): Promise<{ id: string; holder: string }[]> {
    return this.db.$queryRaw<{ id: string; holder: string }[]>`
      SELECT id, lease_owner AS holder FROM ingest_jobs WHERE ${HELD_LEASE}`;
  }

  /** True while any job may still write: one unfinished, or one whose holder has not let go (a cancel waits for its last batch). */
  async anyJobActive(): Promise<boolean> {
    const rows = await this.db.$queryRaw<{ id: string }[]>`
      SELECT id FROM ingest_jobs WHERE state IN ('queued', 'running') OR (${HELD_LEASE}) LIMIT 1`;
    return rows.length > 0;
  }

  /** True while some process holds an unexpired lease on the job. */
  async isLeased(jobId: string): Promise<boolean> {
    const rows = await this.db.$queryRaw<{ id: string }[]>`
      SELECT id FROM ingest_jobs WHERE id = ${jobId}::uuid AND ${HELD_LEASE}`;
    return rows.length > 0;
  }

  /** Unfinished jobs nobody runs yet (queued, or left by a crashed holder). */
  async countWaitingJobs(): Promise<number> {
    const rows = await this.db.$queryRaw<{ n: bigint }[]>`
      SELECT count(*) AS n FROM ingest_jobs j WHERE ${UNHELD_JOB}`;
    return Number(rows[0]?.n ?? 0);
  }

  unfinishedJobIds(): Promise<string[]> {
    return this.db.ingestJob
      .findMany({ where: { state: { in: ['queued', 'running'] } }, orderBy: { createdAt: 'asc' }, select: { id: true } })
      .then((r) => r.map((j) => j.id));
  }

  /** False when the job was cancelled (or finished) meanwhile: it must not run. */
  async markRunning(job: JobRow): Promise<boolean> {
    const res = await this.db.ingestJob.updateMany({
      where: { id: job.id, state: { in: ['queued', 'running'] } },
      data: { state: 'running', startedAt: job.startedAt ?? new Date(), error: null },
    });
    return res.count > 0;
  }

  async markCompleted(jobId: string): Promise<void> {
    // A cancel that came in while the last batch was written stays a cancel.
    await this.db.ingestJob.updateMany({
      where: { id: jobId, state: 'running' },
      data: { state: 'completed', finishedAt: new Date(), retries: 0, retryAt: null },
    });
  }

  /** Cancels a queued or running job of `owner` (any owner's when undefined); null when there was none to cancel. */
  async cancel(jobId: string, owner: string | undefined): Promise<JobRow | null> {
    const rows = await this.db.ingestJob.updateManyAndReturn({
      where: { id: jobId, state: { in: ['queued', 'running'] }, ...(owner !== undefined ? { owner } : {}) },
      data: { state: 'cancelled', finishedAt: new Date() },
    });
    return rows[0] ?? null;
  }

  /** Queues a failed job of `owner` (any owner's when undefined) again, as new; null when there was none failed. */
  async requeueFailed(jobId: string, owner: string | undefined): Promise<JobRow | null> {
    const rows = await this.db.ingestJob.updateManyAndReturn({
      where: { id: jobId, state: 'failed', ...(owner !== undefined ? { owner } : {}) },
      data: { state: 'queued', error: null, finishedAt: null, retries: 0, retryAt: null },
    });
    return rows[0] ?? null;
  }

  jobsOfOwner(owner: string): Promise<Pick<JobRow, 'id' | 'kind' | 'state'>[]> {
    return this.db.ingestJob.findMany({ where: { owner }, select: { id: true, kind: true, state: true } });
  }

  /** Jobs and their items (by cascade) go for good. */
  async deleteJobs(ids: readonly string[]): Promise<void> {
    await this.db.ingestJob.deleteMany({ where: { id: { in: [...ids] } } });
  }

  /** Jobs newest first, an owner's or everyone's, optionally in one state. */
  listJobs(filter: { owner?: string | undefined; state?: JobRow['state'] | undefined }, offset: number, limit: number): Promise<JobRow[]> {
    return this.db.ingestJob.findMany({
      where: { ...(filter.owner !== undefined ? { owner: filter.owner } : {}), ...(filter.state ? { state: filter.state } : {}) },
      orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
      skip: offset,
      take: limit,
    });
  }

  async markFailed(jobId: string, error: string): Promise<void> {
    await this.db.ingestJob.updateMany({
      where: { id: jobId, state: { in: ['queued', 'running'] } },
      data: { state: 'failed', error, finishedAt: new Date() },
    });
  }

  /** An outage is not the job's fault: it goes back to queued with the reason, not to be claimed again for `retryInMs`. */
  async markOutage(jobId: string, error: string, retryInMs: number): Promise<void> {
    await this.db.$executeRaw`
      UPDATE ingest_jobs SET state = 'queued', error = ${error}, retries = retries + 1, retry_at = ${msFromNow(retryInMs)}
      WHERE id = ${jobId}::uuid AND state IN ('queued', 'running')`;
  }

  /** The next page of a job's pending items after `cursor`, in a stable order. */
  claimPendingItems(jobId: string, cursor: string | undefined, take = ITEM_PAGE): Promise<PendingItem[]> {
    return this.db.ingestItem.findMany({
      where: { jobId, state: 'pending' },
      orderBy: { id: 'asc' },
      take,
      ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}),
      select: { id: true, source: true, externalId: true, imageId: true },
    });
  }

  async markItemFailed(itemId: string, error: string): Promise<void> {
    await this.db.ingestItem.update({ where: { id: itemId }, data: { state: 'failed', error, attempts: { increment: 1 } } });
  }

  async markItemDone(itemId: string, imageId: string): Promise<void> {
    await this.db.ingestItem.update({ where: { id: itemId }, data: { state: 'done', imageId, error: null } });
  }

  async markItemSkipped(itemId: string, imageId: string): Promise<void> {
    await this.db.ingestItem.update({ where: { id: itemId }, data: { state: 'skipped', imageId } });
  }

  /**
   * Writes (or refreshes) the batch's image rows as pending, before their vectors are stored: one
   * statement for the batch, the rows handed over as JSON (a client-built upsert per photo cost the
   * main thread a few ms each). Ingesting deleted content again brings it back as a new image (its
   * old albums stay gone); new bytes under an external id replace the image's content in place.
   * A live row keeps what its owner set (flags, tags, albums, a corrected capture time) as it is now,
   * not as the batch read it: a PATCH acknowledged while the photo was decoded and encoded stays in
   * effect. The job's own albums (`albumsAdded`) are added to the row's.
   *
   * A delete later than the ingest request wins: only images whose item is still pending are written (a delete
   * withdraws the items of the photos it took, see withdrawItems), and a row deleted after its job was made is not
   * brought back, nor one purged since (its tombstone says when, see ImageRepository.removeDeleted). Each item
   * names its image from here on, so a re-index queued after a crash leaves the image to the item
   * (imagesAwaitingJobs). Returns the ids of the images written.
   */
  async upsertPendingImages(images: readonly PendingImage[]): Promise<Set<string>> {
    // One row per id: ON CONFLICT may not touch a row twice, and the same bytes can come twice in a batch.
    const rows = lastPerKey(images, (i) => i.id).map(({ itemId: _, ...i }) => ({ ...i, phash: i.phash?.toString() ?? null, ocrState: i.ocrState ?? null }));
    if (rows.length === 0) return new Set();
    const live = Prisma.sql`i.deleted_at IS NULL`;
    const written = await this.db.$queryRaw<{ id: string }[]>`
      WITH named AS (
        UPDATE ingest_items AS it SET image_id = d.image_id, updated_at = now()
        FROM ${itemImagePairs(images.map((i) => ({ itemId: i.itemId, imageId: i.id })))}
        WHERE it.id = d.id AND it.state = 'pending'
        RETURNING d.image_id, (SELECT j.created_at FROM ingest_jobs j WHERE j.id = it.job_id) AS requested_at
      ),
      r AS (
        SELECT r.*, n.requested_at FROM jsonb_to_recordset(${jsonb(rows)}) AS r(id uuid, owner text, "externalId" text, sha256 text,
          "sourceKind" "SourceKind", source text, mime text, width int, height int, bytes int, albums text[], "albumsAdded" text[],
          "takenAt" timestamptz, favorite boolean, hidden boolean, archived boolean, tags text[], "mediaType" "MediaType",
          "durationMs" int, "videoCodec" text, "segmentCount" int, "frameTimesMs" int[], phash bigint, sharpness real,
          edited boolean, camera text, latitude float8, longitude float8, "ocrState" "OcrState")
        JOIN (SELECT image_id, min(requested_at) AS requested_at FROM named GROUP BY image_id) n ON n.image_id = r.id)
      INSERT INTO images AS i (id, owner, external_id, sha256, source_kind, source, mime, width, height, bytes, albums, taken_at,
        favorite, hidden, archived, tags, media_type, duration_ms, video_codec, segment_count, frame_times_ms, phash, sharpness,
        edited, camera, latitude, longitude, ocr_state, state, error, updated_at)
      SELECT id, owner, "externalId", sha256, "sourceKind", source, mime, width, height, bytes, albums, "takenAt",
        favorite, hidden, archived, tags, "mediaType", "durationMs", "videoCodec", "segmentCount", "frameTimesMs", phash, sharpness,
        edited, camera, latitude, longitude, "ocrState", 'pending', NULL, now()
      FROM r
      WHERE NOT EXISTS (SELECT 1 FROM image_tombstones t WHERE t.id = r.id AND t.deleted_at >= r.requested_at)
      ON CONFLICT (id) DO UPDATE SET external_id = excluded.external_id, sha256 = excluded.sha256, source_kind = excluded.source_kind,
        source = excluded.source, mime = excluded.mime, width = excluded.width, height = excluded.height, bytes = excluded.bytes,
        albums = CASE WHEN ${live} THEN i.albums || ARRAY(
            SELECT a FROM unnest((SELECT r."albumsAdded" FROM r WHERE r.id = excluded.id)) a WHERE a <> ALL (i.albums))
          ELSE excluded.albums END,
        taken_at = CASE WHEN ${live} AND i.sha256 = excluded.sha256 THEN coalesce(i.taken_at, excluded.taken_at) ELSE excluded.taken_at END,
        favorite = CASE WHEN ${live} THEN i.favorite ELSE excluded.favorite END,
        hidden = CASE WHEN ${live} THEN i.hidden ELSE excluded.hidden END,
        archived = CASE WHEN ${live} THEN i.archived ELSE excluded.archived END,
        tags = CASE WHEN ${live} THEN i.tags ELSE excluded.tags END,
        media_type = excluded.media_type, duration_ms = excluded.duration_ms,
        video_codec = excluded.video_codec, segment_count = excluded.segment_count, frame_times_ms = excluded.frame_times_ms,
        phash = excluded.phash, sharpness = excluded.sharpness, edited = excluded.edited, camera = excluded.camera,
        latitude = excluded.latitude, longitude = excluded.longitude, ocr_state = coalesce(excluded.ocr_state, i.ocr_state),
        state = 'pending', deleted_at = NULL, updated_at = now()
      WHERE ${live} OR i.deleted_at < (SELECT r.requested_at FROM r WHERE r.id = excluded.id)
      RETURNING i.id::text AS id`;
    return new Set(written.map((w) => w.id));
  }

  /**
   * A delete withdraws the pending items that would write the deleted photos again: those naming one of the images
   * (written once, or a re-index), and those bringing one of the external ids (an upload under that id waiting its
   * turn). They end skipped. An item whose batch is being written loses its row too (see upsertPendingImages).
   */
  async withdrawItems(deleted: readonly { id: string; externalId: string | null; owner: string }[]): Promise<number> {
    if (deleted.length === 0) return 0;
    const named = deleted.filter((d) => d.externalId !== null);
    // Each arm follows its partial index (pending items by image, by external id); the owner is the job's.
    return this.db.$executeRaw`
      UPDATE ingest_items AS it SET state = 'skipped', updated_at = now()
      WHERE it.state = 'pending' AND (
        it.image_id = ANY(${deleted.map((d) => d.id)}::uuid[])
        OR (it.external_id = ANY(${named.map((d) => d.externalId)}::text[]) AND (it.external_id, (SELECT j.owner FROM ingest_jobs j WHERE j.id = it.job_id))
          IN (SELECT * FROM unnest(${named.map((d) => d.externalId)}::text[], ${named.map((d) => d.owner)}::text[]))))`;
  }

  /**
   * The store refused the batch: images stay pending, items stay pending, both say why. The items
   * name their images already (since the rows were written, see upsertPendingImages; a re-index item
   * from its start), so a re-index queued before the job resumes leaves the images to this job.
   */
  async recordStoreFailure(failed: readonly { itemId: string; imageId: string }[], error: string): Promise<void> {
    await this.db.$transaction([
      this.db.image.updateMany({ where: { id: { in: failed.map((f) => f.imageId) } }, data: { error } }),
      this.db.$executeRaw`
        UPDATE ingest_items AS i SET error = ${error}, attempts = i.attempts + 1, updated_at = now()
        FROM ${itemImagePairs(failed)}
        WHERE i.id = d.id`,
    ]);
  }

  /** The store has the batch's vectors: images become searchable and items done, together. */
  async markIndexed(packKey: string, done: readonly { itemId: string; imageId: string }[]): Promise<void> {
    await this.db.$transaction([
      this.db.image.updateMany({ where: { id: { in: done.map((d) => d.imageId) } }, data: { state: 'indexed', modelPack: packKey, error: null } }),
      // One statement for the batch's items: each client-built query costs the main thread about 1-5 ms.
      this.db.$executeRaw`
        UPDATE ingest_items AS i SET state = 'done', image_id = d.image_id, error = NULL, updated_at = now()
        FROM ${itemImagePairs(done)}
        WHERE i.id = d.id`,
    ]);
  }
}
