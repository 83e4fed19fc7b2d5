import { Router } from 'express';
import type { IngestService } from '../../../ingest/ingestService';
import type { TextCorpus } from '../../search/textCorpus';
import { HttpError } from '../errors';
import { imageIdSchema, ingestRequestSchema, textIngestSchema } from '../schemas';
import { multipart, requireContentType, uploadedFiles, type UploadLimits } from '../uploads';

export function adminRoutes(ingest: IngestService, texts: TextCorpus, limits: UploadLimits): Router {
  const r = Router();
  r.post('/ingest', requireContentType('application/json', 'multipart/form-data'), multipart('files', limits, limits.maxFiles), async (req, res) => {
    const body = ingestRequestSchema.parse(req.body ?? {});
    const files = uploadedFiles(req);
    const sources = [body.folder !== undefined, body.urls !== undefined, files.length > 0].filter(Boolean).length;
    if (sources !== 1) throw new HttpError(400, 'validation_error', 'send exactly one of: folder, urls, or uploaded files (field "files")');
    let jobId: string;
    if (body.folder !== undefined) jobId = await ingest.createFolderJob(body.owner, body.folder, body.albums);
    else if (body.urls) jobId = await ingest.createUrlJob(body.owner, body.urls, body.albums);
    else jobId = await ingest.createUploadJob(body.owner, files.map((f) => ({ name: f.originalname, data: f.buffer })), body.albums);
    ingest.enqueue(jobId);
    res.status(202).location(`/v1/admin/jobs/${jobId}`).json({ jobId, statusUrl: `/v1/admin/jobs/${jobId}` });
  });

  r.post('/texts', requireContentType('application/json'), async (req, res) => {
    const body = textIngestSchema.parse(req.body);
    const ids = await texts.add(body.texts);
    res.json({ ids, count: ids.length });
  });

  r.get('/jobs/:id', async (req, res) => {
    const status = await ingest.status(imageIdSchema.parse(req.params.id));
    if (!status) throw new HttpError(404, 'not_found', `job ${req.params.id} not found`);
    res.json(status);
  });
  return r;
}
