import type { ReconcileReport } from '../../../ingest/reconcile';
import { Router } from 'express';
import { z } from 'zod';
import type { IngestService } from '../../../ingest/ingestService';
import type { TextCorpus } from '../../search/textCorpus';
import { ownerFor, principalOf, requireScope } from '../auth';
import { AppError } from '../../errors/appError';
import { encodeCursor, imageIdSchema, ingestRequestSchema, listJobsQuerySchema, ocrBackfillSchema, textIngestSchema, type Limits } from '../schemas/requests';
import { multipart, requireContentType, uploadedFiles, type UploadLimits } from '../uploads';

export function adminRoutes(
  ingest: IngestService,
  texts: TextCorpus,
  reconcile: (fix: boolean) => Promise<ReconcileReport>,
  limits: UploadLimits & Limits & { maxVideoBytes: number },
): Router {
  const r = Router();
  r.post(
    '/ingest',
    requireScope('ingest'),
    requireContentType('application/json', 'multipart/form-data'),
    // Uploads may be videos: the photo limit is checked again once a file is known not to be one.
    multipart('files', { ...limits, maxBytes: Math.max(limits.maxBytes, limits.maxVideoBytes) }, limits.maxFiles, ingest.uploadSpool),
    async (req, res) => {
      const body = ingestRequestSchema.parse(req.body ?? {});
      const files = uploadedFiles(req);
      const sources = [body.folder !== undefined, body.urls !== undefined, files.length > 0].filter(Boolean).length;
      if (sources !== 1) throw new AppError(400, 'validation_error', 'send exactly one of: folder, urls, or uploaded files (field "files")');
      if (body.externalIds && body.externalIds.length !== files.length) {
        throw new AppError(400, 'validation_error', `externalIds has ${body.externalIds.length} entries for ${files.length} uploaded files`);
      }
      if (body.externalIdsFromPaths !== undefined && body.folder === undefined) {
        throw new AppError(400, 'validation_error', 'externalIdsFromPaths applies to folder ingest only');
      }
      const owner = ownerFor(res, body.owner);
      if (owner === undefined) throw new AppError(400, 'validation_error', 'owner is required');
      let jobId: string;
      if (body.folder !== undefined) {
        // Reading the server's own disk is for operators, not tenants.
        if (!principalOf(res).scopes.has('admin')) throw new AppError(403, 'forbidden', 'folder ingest needs the "admin" scope');
        jobId = await ingest.createFolderJob(owner, body.folder, body.albums, { externalIdsFromPaths: body.externalIdsFromPaths });
      } else if (body.urls) jobId = await ingest.createUrlJob(owner, body.urls, body.albums);
      else
        jobId = await ingest.createUploadJob(
          owner,
          files.map((f, i) => ({ name: f.originalname, spooled: f.path, externalId: body.externalIds?.[i] })),
          body.albums,
        );
      ingest.enqueue(jobId);
      res
        .status(202)
        .location(`/v1/admin/jobs/${jobId}`)
        .json({ jobId, statusUrl: `/v1/admin/jobs/${jobId}` });
    },
  );

  r.post('/texts', requireScope('ingest'), requireContentType('application/json'), async (req, res) => {
    const body = textIngestSchema.parse(req.body);
    // Tenants add to their own corpus; only operators write the shared one (owner omitted).
    const ids = await texts.add(body.texts.map((t) => ({ ...t, owner: ownerFor(res, t.owner) })));
    res.json({ ids, count: ids.length });
  });

  r.post('/reconcile', requireScope('admin'), requireContentType('application/json'), async (req, res) => {
    const { fix } = z
      .object({ fix: z.boolean().default(false) })
      .strict()
      .parse(req.body ?? {});
    const report = await reconcile(fix);
    if (report.reindexJobId) ingest.enqueue(report.reindexJobId);
    res.json(report);
  });

  r.post('/ocr/backfill', requireScope('admin'), requireContentType('application/json'), async (req, res) => {
    const { owner } = ocrBackfillSchema.parse(req.body ?? {});
    const jobId = await ingest.createOcrBackfillJob(owner);
    if (!jobId) return void res.json({ jobId: null, statusUrl: null });
    ingest.enqueue(jobId);
    res
      .status(202)
      .location(`/v1/admin/jobs/${jobId}`)
      .json({ jobId, statusUrl: `/v1/admin/jobs/${jobId}` });
  });

  r.get('/jobs/:id', requireScope('ingest'), async (req, res) => {
    const status = await ingest.status(imageIdSchema.parse(req.params.id), principalOf(res).owner ?? undefined);
    if (!status) throw new AppError(404, 'not_found', `job ${String(req.params.id)} not found`);
    res.json(status);
  });

  r.get('/jobs', requireScope('ingest'), async (req, res) => {
    const { owner, state, limit, cursor } = listJobsQuerySchema(limits).parse(req.query);
    const page = await ingest.list({ owner: ownerFor(res, owner), state }, { offset: cursor ?? 0, limit });
    res.json({ jobs: page.jobs, nextCursor: page.nextOffset === null ? null : encodeCursor(page.nextOffset) });
  });

  r.post('/jobs/:id/cancel', requireScope('ingest'), async (req, res) => {
    res.json(await ingest.cancel(imageIdSchema.parse(req.params.id), principalOf(res).owner ?? undefined));
  });
  return r;
}
