import type { ImageRepository, ImageRow } from '../db/repositories';
import type { ModelSource } from '../packs/activeModel';
import type { PointPayload, VectorCollection } from '../store/vectorStore';
import { assetPointIds } from '../util/ids';
import { imagePayload } from './imagePayload';

/** The payload fields the search filters read, as one comparable value (a missing field is null). */
const FILTERED: readonly (keyof PointPayload)[] = [
  'owner',
  'albums',
  'takenAt',
  'favorite',
  'hidden',
  'archived',
  'tags',
  'autoTags',
  'places',
  'mediaType',
  'camera',
  'location',
];
const comparable = (p: Partial<PointPayload>) => JSON.stringify(FILTERED.map((k) => p[k] ?? null));

/**
 * Writes an image's payload, made from its row, to every stored point of the asset (a video's frames keep their
 * segment). Payloads only: an ingest replacing the vectors meanwhile keeps its vectors.
 */
export async function pushPayload(collection: VectorCollection, row: ImageRow): Promise<void> {
  const stored = await collection.payloads(assetPointIds(row));
  const payload = imagePayload(row);
  await collection.setPayload([...stored].map(([id, p]) => ({ id, payload: { ...payload, segment: p.segment } })));
}

/**
 * After points were written with payloads made from rows read earlier, writes again the payload of each row that
 * has changed since (a stage's write between the read and the upsert would otherwise be undone). Returns their ids.
 */
export async function settlePayloads(images: ImageRepository, collection: VectorCollection, written: ReadonlyMap<string, PointPayload>): Promise<string[]> {
  const changed = (await images.indexedByIds([...written.keys()])).filter((row) => comparable(imagePayload(row)) !== comparable(written.get(row.id)!));
  for (const row of changed) await pushPayload(collection, row);
  return changed.map((row) => row.id);
}

/** How often a payload is written again because its row changed meanwhile; past that, start or reconcile finish it. */
const RESYNCS = 5;

/**
 * A row marked as changed: its payload is written, then the mark goes (a crash between is finished at start). Two
 * writers of one image (auto tags and places, at once on a new photo) may write their payloads in the other order than
 * their rows: the one whose row is older then finds the row changed, and writes the newer row's payload after.
 */
export async function syncChangedRow(images: ImageRepository, collection: VectorCollection, row: ImageRow): Promise<void> {
  let current: ImageRow | null = row;
  for (let i = 0; current && i < RESYNCS; i++) {
    await pushPayload(collection, current);
    if (await images.payloadSynced(current)) return;
    current = await images.findById(current.id);
  }
}

/**
 * Finishes the changes a crash interrupted between Postgres and the index: images marked as changed in
 * Postgres get their payload written again. Returns how many; run at start and by reconcile.
 */
export async function syncMarkedPayloads(images: ImageRepository, model: ModelSource): Promise<number> {
  let total = 0;
  for (;;) {
    const rows = await images.payloadsToSync();
    if (rows.length === 0) return total;
    const collection = model.current.images;
    for (const row of rows) await syncChangedRow(images, collection, row);
    total += rows.length;
  }
}

/** Whether any stored point of the row's asset has a payload other than the row's (points: read already, or read now). */
async function differs(collection: VectorCollection, row: ImageRow, points?: Map<string, PointPayload>): Promise<boolean> {
  const ids = assetPointIds(row);
  const stored = points ?? (await collection.payloads(ids));
  const want = comparable(imagePayload(row));
  return ids.some((id) => {
    const got = stored.get(id);
    return got !== undefined && comparable(got) !== want;
  });
}

/** How long a row marked as changed may take its writer to write its payload before it counts as drift. */
const WRITER_GRACE_MS = 1_000;

/**
 * The row, read again, when its payload still differs from it; null when it does not (or it is gone). Both are read
 * again because a background stage may have changed row and payload since the first reads, and writing the payload
 * of the row as it was read would undo its change. A row still marked as changed is being written by its writer (a
 * stage, a PATCH): it gets a moment to finish; one left marked by a crash is finished at start and by `reconcile --fix`.
 */
async function settledRow(images: ImageRepository, collection: VectorCollection, id: string): Promise<ImageRow | null> {
  const deadline = performance.now() + WRITER_GRACE_MS;
  for (;;) {
    const fresh = await images.findById(id);
    if (!fresh || fresh.deletedAt || !(await differs(collection, fresh))) return null;
    if (!fresh.payloadDirty || performance.now() >= deadline) return fresh;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Every indexed image whose points' payload differs from its row (what the search filters read would
 * miss or wrongly find it), page by page; with `fix`, the payload is written again from the row.
 */
export async function payloadDrift(images: ImageRepository, collection: VectorCollection, fix: boolean, pageSize = 500): Promise<string[]> {
  const drifted: string[] = [];
  for (let after: string | null = null; ;) {
    const rows: ImageRow[] = await images.indexedPage(after, pageSize);
    if (rows.length === 0) return drifted;
    after = rows.at(-1)!.id;
    const points = await collection.payloads(rows.flatMap(assetPointIds));
    for (const row of rows) {
      if (!(await differs(collection, row, points))) continue;
      const fresh = await settledRow(images, collection, row.id);
      if (!fresh) continue;
      drifted.push(row.id);
      if (fix) await pushPayload(collection, fresh);
    }
  }
}
