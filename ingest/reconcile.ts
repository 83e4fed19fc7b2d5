import type { ReconcileReport } from '../src/library/consistency';
import type { ImageRepository, IngestRepository } from '../src/db/repositories';
import type { DerivativeStore } from '../src/images/derivativeStore';
import { payloadDrift, syncMarkedPayloads } from '../src/library/payloadSync';
import type { ModelSource } from '../src/packs/activeModel';
import type { VectorCollection } from '../src/store/vectorStore';
import { assetPointIds } from '../src/util/ids';

export interface ReconcileDeps {
  imageRows: ImageRepository;
  jobs: IngestRepository;
  /** The pack in use and its collection: the one compared with Postgres. */
  model: ModelSource;
  createReindexJob(): Promise<string | null>;
  /** Finishes interrupted deletes (vector, files, row). */
  purgeDeleted(): Promise<string[]>;
  derivatives: Pick<DerivativeStore, 'settledFiles' | 'removeFile'>;
}

/**
 * While a job may be writing, a file younger than this may belong to a batch whose rows are not written yet. With no
 * job active, a file written before the check is settled: its batch wrote its rows before its job ended or let go, or
 * its writer died (a crash between a batch's files and its rows), and a job started after the check writes later.
 */
const SETTLED_MS = 10 * 60_000;
/** File systems that keep modification times coarsely (FAT: 2 s) may date a file written just after the check before it. */
const MTIME_SLACK_MS = 2_000;

const PAGE = 1000;

async function allPointIds(col: VectorCollection): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const page of col.listIds(PAGE)) for (const id of page) ids.add(id);
  return ids;
}

/**
 * Finds (and with `fix`, repairs) every way Postgres and the vector store can disagree. Repairs
 * delete orphan points and re-queue the affected images for embedding from their stored previews.
 */
export async function reconcile(deps: ReconcileDeps, fix: boolean): Promise<ReconcileReport> {
  const { imageRows } = deps;
  const { images, pack } = deps.model.current;
  const packKey = pack.key;
  // Checked before the rows are read, so that a row written meanwhile is seen rather than its files taken for orphans.
  const asOf = Date.now();
  const settledBefore = asOf - ((await deps.jobs.anyJobActive()) ? SETTLED_MS : MTIME_SLACK_MS);
  const points = await allPointIds(images);
  const rows = await imageRows.allStates();
  // An asset's points are its own id and one per later video frame: all must be there, none are orphans.
  const known = new Set(rows.filter((r) => r.state !== 'failed').flatMap(assetPointIds));
  const busy = await deps.jobs.imagesAwaitingJobs();
  const report: ReconcileReport = {
    missingVectors: rows.filter((r) => r.state === 'indexed' && r.modelPack === packKey && !assetPointIds(r).every((p) => points.has(p))).map((r) => r.id),
    orphanPoints: [...points].filter((id) => !known.has(id)),
    staleModel: rows.filter((r) => r.state !== 'failed' && r.modelPack !== null && r.modelPack !== packKey).map((r) => r.id),
    stuckPending: rows.filter((r) => r.state === 'pending' && r.modelPack === packKey && !busy.has(r.id)).map((r) => r.id),
    pendingDeletes: (await imageRows.deletedAwaitingPurge()).map((r) => r.id),
    payloadDrift: await payloadDrift(imageRows, images, fix),
    orphanFiles: [],
    reindexJobId: null,
  };
  for await (const f of deps.derivatives.settledFiles(settledBefore)) if (!known.has(f.imageId)) report.orphanFiles.push(f.file);
  if (!fix) return report;
  await deps.purgeDeleted();
  await syncMarkedPayloads(imageRows, deps.model);
  for (const file of report.orphanFiles) await deps.derivatives.removeFile(file);
  for (let i = 0; i < report.orphanPoints.length; i += PAGE) await images.delete(report.orphanPoints.slice(i, i + PAGE));
  const requeue = [...report.missingVectors, ...report.stuckPending];
  // modelPack null marks "not known to be stored", which the re-index job picks up; stale packs it picks up already.
  await imageRows.requeue(requeue);
  if (requeue.length || report.staleModel.length) report.reindexJobId = await deps.createReindexJob();
  return report;
}
