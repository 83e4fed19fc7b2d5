import type { TextCorpus } from '../../search/textCorpus';
import { AppError } from '../../errors/appError';
import type { ingestRoutes } from '../contract/ingest';
import type { IngestPort } from '../ports';
import { Reply, type Handlers } from '../router';
import { encodeCursor } from '../schemas/requests';

const accepted = (jobId: string) => new Reply(202, { jobId, statusUrl: `/v1/admin/jobs/${jobId}` }, { location: `/v1/admin/jobs/${jobId}` });

/** An owner's ingest jobs and texts; an operator's key reaches every owner's. */
export function ingestHandlers(ingest: IngestPort, texts: TextCorpus): Handlers<typeof ingestRoutes> {
  return {
    ingest: async ({ body, files, owner, caller }) => {
      const sources = [body.folder !== undefined, body.urls !== undefined, files.length > 0].filter(Boolean).length;
      if (sources !== 1) throw new AppError('validation_error', 'send exactly one of: folder, urls, or uploaded files (field "files")');
      if (body.externalIds && body.externalIds.length !== files.length) {
        throw new AppError('validation_error', `externalIds has ${body.externalIds.length} entries for ${files.length} uploaded files`);
      }
      if (body.externalIdsFromPaths !== undefined && body.folder === undefined) {
        throw new AppError('validation_error', 'externalIdsFromPaths applies to folder ingest only');
      }
      const forOwner = owner!;
      let jobId: string;
      if (body.folder !== undefined) {
        const options = { externalIdsFromPaths: body.externalIdsFromPaths };
        const principal = caller.principal!;
        if (principal.owner !== null) jobId = await ingest.createOwnFolderJob(forOwner, body.folder, body.albums, options);
        // Reading anywhere under INGEST_ROOTS is an operator power.
        else if (principal.scopes.has('admin')) jobId = await ingest.createFolderJob(forOwner, body.folder, body.albums, options);
        else throw new AppError('forbidden', 'folder ingest anywhere under INGEST_ROOTS needs the "admin" scope');
      } else if (body.urls) jobId = await ingest.createUrlJob(forOwner, body.urls, body.albums);
      else
        jobId = await ingest.createUploadJob(
          forOwner,
          files.map((f, i) => ({ name: f.originalname, spooled: f.path, externalId: body.externalIds?.[i] })),
          body.albums,
        );
      ingest.enqueue(jobId);
      return accepted(jobId);
    },
    // Tenants add to their own corpus; only operators write the shared one (owner omitted).
    addTexts: async ({ body, ownerFor }) => {
      const ids = await texts.add(body.texts.map((t) => ({ ...t, owner: ownerFor(t.owner) })));
      return { ids, count: ids.length };
    },
    getJob: async ({ params, owner }) => {
      const status = await ingest.status(params.id, owner);
      if (!status) throw new AppError('not_found', `job ${params.id} not found`);
      return status;
    },
    listJobs: async ({ query, owner }) => {
      const page = await ingest.list({ owner, state: query.state }, { offset: query.cursor ?? 0, limit: query.limit });
      return { jobs: page.jobs, nextCursor: page.nextOffset === null ? null : encodeCursor(page.nextOffset) };
    },
    cancelJob: async ({ params, owner }) => ingest.cancel(params.id, owner),
    retryJob: async ({ params, owner }) => ingest.retry(params.id, owner),
  };
}

export { accepted };
