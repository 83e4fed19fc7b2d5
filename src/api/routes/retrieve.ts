import { Router } from 'express';
import type { SearchService } from '../../search/searchService';
import type { TextCorpus } from '../../search/textCorpus';
import type { TextEncoder } from '../../models/encoders';
import { classify } from '../../search/zeroShot';
import { ownerFor } from '../auth';
import { classifySchema, retrieveTextSchema, type Limits } from '../schemas/requests';
import { queryImageVector } from '../queryImage';
import { multipart, requireContentType, type UploadLimits } from '../uploads';

export function retrieveRoutes(search: SearchService, texts: TextCorpus, textEncoder: TextEncoder, limits: Limits & UploadLimits): Router {
  const r = Router();
  const accepts = [requireContentType('application/json', 'multipart/form-data'), multipart('image', limits)];

  r.post('/retrieve/text', ...accepts, async (req, res) => {
    const start = performance.now();
    const body = retrieveTextSchema(limits).parse(req.body ?? {});
    const owner = ownerFor(res, body.owner);
    const vector = await queryImageVector(req, search, body, owner);
    const hits = await texts.retrieve(vector, owner, body.limit);
    res.json({ hits, tookMs: Math.round(performance.now() - start) });
  });

  r.post('/classify', ...accepts, async (req, res) => {
    const body = classifySchema(limits).parse(req.body ?? {});
    const vector = await queryImageVector(req, search, body, ownerFor(res, body.owner));
    const labels = await classify(textEncoder, vector, body.labels, body.template);
    res.json({ labels: labels.slice(0, body.limit ?? labels.length) });
  });
  return r;
}
