import { Prisma } from '../generated/client';
import type { Db } from '../prisma';
import { msFromNow, ownersTakingTurns, type OwnerQueue } from './sqlFragments';
import { lastPerKey } from '../../util/collections';

export interface StageTaskRow {
  imageId: string;
  owner: string;
  version: string;
  attempts: number;
}

export interface StageCounts {
  pending: number;
  done: number;
  failed: number;
}

export interface StageTaskState {
  stage: string;
  version: string;
  state: 'pending' | 'done' | 'failed';
  error: string | null;
  updatedAt: Date;
}

const due = (stage: string) =>
  Prisma.sql`t.stage = ${stage} AND t.state = 'pending' AND t.due_at <= now() AND (t.lease_until IS NULL OR t.lease_until < now())`;

/** The per-image work of background stages (src/stages): queued, leased, settled. */
export class StageTaskRepository {
  constructor(private readonly db: Db) {}

  /** Queues these images for the stage at `version` (again, when an earlier version's task exists). */
  async enqueue(stage: string, version: string, images: readonly { imageId: string; owner: string }[]): Promise<void> {
    // One row per image: ON CONFLICT may not touch a row twice, and a batch can hold the same bytes twice (one upload
    // of a photo and its copy); the whole batch's tasks were lost to that error.
    const unique = lastPerKey(images, (i) => i.imageId);
    if (unique.length === 0) return;
    await this.db.$executeRaw`
      INSERT INTO stage_tasks (stage, image_id, owner, version)
      SELECT ${stage}, d.id, d.owner, ${version}
      FROM unnest(${unique.map((i) => i.imageId)}::uuid[], ${unique.map((i) => i.owner)}::text[]) AS d(id, owner)
      WHERE EXISTS (SELECT 1 FROM images i WHERE i.id = d.id)
      ON CONFLICT (stage, image_id) DO UPDATE SET version = EXCLUDED.version, state = 'pending', attempts = 0, due_at = now(),
        lease_until = NULL, leased_by = NULL, error = NULL, updated_at = now()`;
  }

  /**
   * Queues every live, indexed image that has no task of this stage at `version` (ingested before the
   * stage existed, or made by an earlier version), `page` at a time; returns how many were queued.
   */
  async backfill(stage: string, version: string, page = 5000): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.db.$executeRaw`
        INSERT INTO stage_tasks (stage, image_id, owner, version)
        SELECT ${stage}, i.id, i.owner, ${version} FROM images i
        WHERE i.state = 'indexed' AND i.deleted_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM stage_tasks t WHERE t.stage = ${stage} AND t.image_id = i.id AND t.version = ${version})
        ORDER BY i.ingested_at, i.id
        LIMIT ${page}
        ON CONFLICT (stage, image_id) DO UPDATE SET version = EXCLUDED.version, state = 'pending', attempts = 0, due_at = now(),
          lease_until = NULL, leased_by = NULL, error = NULL, updated_at = now()`;
      total += n;
      if (n < page) return total;
    }
  }

  /**
   * Makes every unfinished task of these images due now, its attempts forgotten: after a pack switch a stage that
   * reads the vector fails until the re-index reaches the image, and on a large library would run out of attempts.
   * A task running now keeps its lease; its outcome still counts as its first attempt.
   */
  async retryNow(imageIds: readonly string[]): Promise<void> {
    if (imageIds.length === 0) return;
    await this.db.$executeRaw`
      UPDATE stage_tasks SET state = 'pending', attempts = 0, due_at = now(), error = NULL, updated_at = now()
      WHERE image_id = ANY(${[...imageIds]}::uuid[]) AND state <> 'done'`;
  }

  /** Leases the next due tasks of live images, owners taking turns, each owner's oldest first; deleted images' tasks are dropped on the way. */
  async claim(stage: string, take: number, leaseMs: number, holder: string): Promise<StageTaskRow[]> {
    await this.db.$executeRaw`
      DELETE FROM stage_tasks t USING images i
      WHERE ${due(stage)} AND i.id = t.image_id AND (i.deleted_at IS NOT NULL OR i.state <> 'indexed')`;
    const queue: OwnerQueue = {
      table: Prisma.sql`stage_tasks`,
      waiting: Prisma.sql`t.stage = ${stage} AND t.state = 'pending'`,
      claimable: due(stage),
      at: Prisma.sql`t.due_at`,
      key: Prisma.sql`t.image_id`,
    };
    return this.db.$queryRaw<StageTaskRow[]>`
      UPDATE stage_tasks t SET lease_until = ${msFromNow(leaseMs)}, leased_by = ${holder}
      WHERE ${due(stage)} AND t.image_id IN (${ownersTakingTurns(queue, take)})
      RETURNING t.image_id::text AS "imageId", t.owner, t.version, t.attempts`;
  }

  /** The task of an image while `holder` still holds its lease (a pull worker's answer is checked against it). */
  async leased(stage: string, imageId: string, holder: string): Promise<StageTaskRow | null> {
    const rows = await this.db.$queryRaw<StageTaskRow[]>`
      SELECT t.image_id::text AS "imageId", t.owner, t.version, t.attempts FROM stage_tasks t
      WHERE t.stage = ${stage} AND t.image_id = ${imageId}::uuid AND t.state = 'pending' AND t.leased_by = ${holder} AND t.lease_until > now()`;
    return rows[0] ?? null;
  }

  /** Records an outcome, unless the task was queued again meanwhile (a newer version, a re-ingest) or another holder has it. */
  async settle(
    stage: string,
    task: StageTaskRow,
    holder: string,
    outcome: { state: 'done' } | { state: 'failed'; error: string } | { state: 'retry'; error: string; dueAt: Date },
  ): Promise<void> {
    const state = outcome.state === 'retry' ? 'pending' : outcome.state;
    const error = outcome.state === 'done' ? null : outcome.error.slice(0, 500);
    const dueAt = outcome.state === 'retry' ? outcome.dueAt : new Date();
    await this.db.$executeRaw`
      UPDATE stage_tasks SET state = ${state}, error = ${error}, due_at = ${dueAt}, attempts = attempts + 1,
        lease_until = NULL, leased_by = NULL, updated_at = now()
      WHERE stage = ${stage} AND image_id = ${task.imageId}::uuid AND version = ${task.version} AND leased_by = ${holder}`;
  }

  async release(stage: string, imageIds: readonly string[]): Promise<void> {
    if (imageIds.length === 0) return;
    await this.db.$executeRaw`
      UPDATE stage_tasks SET lease_until = NULL, leased_by = NULL WHERE stage = ${stage} AND image_id = ANY(${[...imageIds]}::uuid[])`;
  }

  /** Frees leases held by processes of this host that no longer run (`alive` says which pids do). */
  async releaseDead(hostPrefix: string, alive: (pid: number) => boolean): Promise<number> {
    const held = await this.db.$queryRaw<{ leased_by: string }[]>`
      SELECT DISTINCT leased_by FROM stage_tasks WHERE leased_by LIKE ${`${hostPrefix}:%`} AND lease_until > now()`;
    const dead = held.map((h) => h.leased_by).filter((h) => !alive(Number(h.slice(hostPrefix.length + 1))));
    if (dead.length === 0) return 0;
    return this.db.$executeRaw`UPDATE stage_tasks SET lease_until = NULL, leased_by = NULL WHERE leased_by = ANY(${dead}::text[])`;
  }

  async nextDue(stage: string): Promise<Date | null> {
    const rows = await this.db.$queryRaw<{ at: Date | null }[]>`
      SELECT min(greatest(t.due_at, coalesce(t.lease_until, t.due_at))) AS at FROM stage_tasks t
      WHERE t.stage = ${stage} AND t.state = 'pending'`;
    return rows[0]?.at ?? null;
  }

  /** Counts by state, of every image or of the images one ingest job wrote. */
  async counts(stage: string, jobId?: string): Promise<StageCounts> {
    const rows = jobId
      ? await this.db.$queryRaw<{ state: string; n: bigint }[]>`
          SELECT t.state, count(*) AS n FROM ingest_items it JOIN stage_tasks t ON t.image_id = it.image_id AND t.stage = ${stage}
          WHERE it.job_id = ${jobId}::uuid GROUP BY t.state`
      : await this.db.$queryRaw<{ state: string; n: bigint }[]>`
          SELECT state, count(*) AS n FROM stage_tasks WHERE stage = ${stage} GROUP BY state`;
    const n = (s: string) => Number(rows.find((r) => r.state === s)?.n ?? 0);
    return { pending: n('pending'), done: n('done'), failed: n('failed') };
  }

  /** Each stage's task of one image. */
  statesOf(imageId: string): Promise<StageTaskState[]> {
    return this.db.$queryRaw<StageTaskState[]>`
      SELECT stage, version, state, error, updated_at AS "updatedAt" FROM stage_tasks WHERE image_id = ${imageId}::uuid ORDER BY stage`;
  }
}
