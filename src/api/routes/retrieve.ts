import { Router, type Request } from 'express';
import type { SearchService } from '../../search/searchService';
import type { TextCorpus } from '../../search/textCorpus';
import type { TextEncoder } from '../../models/encoders';
import { classify } from '../../search/zeroShot';
import { ownerFor } from '../auth';
import { HttpError } from '../errors';
import { classifySchema, retrieveTextSchema, type Limits } from '../schemas';
import { multipart, requireContentType, uploadedFiles, type UploadLimits } from '../uploads';

/** The query image of a request: an upload (field "image") or an indexed image id, never both. */
export async function queryImageVector(req: Request, search: SearchService, imageId: string | undefined, owner: string | undefined): Promise<Float32Array> {
  const files = uploadedFiles(req);
  if ((files.length > 0) === (imageId !== undefined)) {
    throw new HttpError(400, 'validation_error', 'send exactly one of: an uploaded image (field "image") or imageId');
  }
  return imageId ? search.vectorOf(imageId, owner) : search.embedImage(files[0]!.buffer);
}

export function retrieveRoutes(search: SearchService, texts: TextCorpus, textEncoder: TextEncoder, limits: Limits & UploadLimits): Router {
  const r = Router();
  const accepts = [requireContentType('application/json', 'multipart/form-data'), multipart('image', limits)];

  r.post('/retrieve/text', ...accepts, async (req, res) => {
    const start = performance.now();
    const body = retrieveTextSchema(limits).parse(req.body ?? {});
    const owner = ownerFor(res, body.owner);
    const vector = await queryImageVector(req, search, body.imageId, owner);
    const hits = await texts.retrieve(vector, owner, body.limit);
    res.json({ hits, tookMs: Math.round(performance.now() - start) });
  });

  r.post('/classify', ...accepts, async (req, res) => {
    const body = classifySchema(limits).parse(req.body ?? {});
    const vector = await queryImageVector(req, search, body.imageId, ownerFor(res, body.owner));
    const labels = await classify(textEncoder, vector, body.labels, body.template);
    res.json({ labels: labels.slice(0, body.limit ?? labels.length) });
  });
  return r;
}
