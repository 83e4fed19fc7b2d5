import type { ReconcileReport } from '../../library/consistency';
import type { ApiKeyService } from '../../auth/apiKeys';
import type { WatchedFolderRow } from '../../db/repositories';
import type { OwnerPurgeReport } from '../../library/ownerPurge';
import { AppError } from '../../errors/appError';
import type { operationRoutes } from '../contract/operations';
import type { ApiServices, IngestPort, WatcherPort } from '../ports';
import { Reply, type Handlers } from '../router';
import { accepted } from './ingest';

export interface OperationHandlerDeps {
  ingest: IngestPort;
  watcher: WatcherPort;
  listWatches: (owner: string | undefined) => Promise<WatchedFolderRow[]>;
  reconcile: (fix: boolean) => Promise<ReconcileReport>;
  purgeOwner: (owner: string) => Promise<OwnerPurgeReport>;
  keys: ApiKeyService;
  /** Null when PULL_ENCODERS is off: the worker routes answer 409. */
  pull: ApiServices['pull'];
  /** Null when PULL_ENCODERS is off or the service has no captioner pack. */
  pullCaptions: ApiServices['pullCaptions'];
}

/** Operator powers: watched folders, repairs, purges, keys and the pull workers' leases. */
export function operationHandlers(d: OperationHandlerDeps): Handlers<typeof operationRoutes> {
  const pull = () => {
    if (!d.pull) throw new AppError('pull_disabled', 'this service does not queue batches for workers (PULL_ENCODERS=off)');
    return d.pull;
  };
  const captions = () => {
    if (!d.pullCaptions) throw new AppError('captioner_mismatch', 'this service hands out no captions (PULL_ENCODERS=off, or no captioner pack)');
    return d.pullCaptions;
  };
  return {
    watchFolder: async ({ body }) => d.watcher.register(body.owner, body.folder, body.albums, body.externalIdPrefix),
    listWatches: async ({ query }) => ({ watches: await d.listWatches(query.owner) }),
    unwatchFolder: async ({ params }) => ({ id: params.id, deleted: await d.watcher.unregister(params.id, undefined) }),
    rescanWatch: async ({ params }) => {
      const report = await d.watcher.scanNow(params.id);
      if (!report) throw new AppError('not_found', `watched folder ${params.id} not found`);
      return report;
    },
    ocrBackfill: async ({ body }) => {
      const jobId = await d.ingest.createOcrBackfillJob(body.owner);
      if (!jobId) return new Reply(200, { jobId: null, statusUrl: null });
      d.ingest.enqueue(jobId);
      return accepted(jobId);
    },
    reconcile: async ({ body }) => {
      const report = await d.reconcile(body.fix);
      if (report.reindexJobId) d.ingest.enqueue(report.reindexJobId);
      return report;
    },
    purgeOwner: async ({ params }) => d.purgeOwner(params.owner),
    createKey: async ({ body }) => {
      const owner = body.owner ?? null;
      const created = await d.keys.create(body.name, owner, body.scopes);
      return { ...created, owner, scopes: body.scopes };
    },
    listKeys: async () => ({ keys: await d.keys.list() }),
    revokeKey: async ({ params }) => {
      const outcome = await d.keys.revokeById(params.id);
      if (outcome === 'unknown') throw new AppError('not_found', `key ${params.id} not found`);
      return { id: params.id, revoked: outcome === 'revoked' };
    },
    leaseBatch: async ({ body }) => {
      const lease = await pull().lease(body.pack);
      return { lease: lease ? { ...lease, tensors: lease.tensors.toString('base64') } : null };
    },
    answerBatch: async ({ params, body }) => {
      if (!(await pull().answer(params.id, body.pack, Buffer.from(body.embeddings, 'base64')))) {
        throw new AppError('lease_gone', `batch ${params.id} was answered already, or its lease expired and it went to another encoder`);
      }
      return { id: params.id, accepted: true };
    },
    leaseCaption: async ({ body }) => ({ task: await captions().lease(body.captioner) }),
    answerCaption: async ({ params, body }) => {
      if (!(await captions().answer(params.imageId, body))) {
        throw new AppError('lease_gone', `image ${params.imageId} was captioned already, or its lease expired and it went to another worker`);
      }
      return { imageId: params.imageId, accepted: true };
    },
  };
}
