import { Router } from 'express';
import { z } from 'zod';
import { AppError } from '../../errors/appError';
import type { PullEncoding } from '../../remoteEncoders/pullEncoding';
import { requireScope } from '../auth';
import { requireContentType } from '../uploads';
import { workerAnswerSchema, workerLeaseSchema } from '../schemas/requests';

const leaseId = z.uuid();

/** Pull workers lease ingest's image batches and answer them (PULL_ENCODERS=on; 409 otherwise). */
export function workerRoutes(pull: PullEncoding | null): Router {
  const r = Router();
  r.use('/workers', requireScope('worker'), requireContentType('application/json'), (_req, _res, next) => {
    next(pull ? undefined : new AppError(409, 'pull_disabled', 'this service does not queue batches for workers (PULL_ENCODERS=off)'));
  });
  r.post('/workers/lease', async (req, res) => {
    const { pack } = workerLeaseSchema.parse(req.body);
    const lease = await pull!.lease(pack);
    res.json({ lease: lease ? { ...lease, tensors: lease.tensors.toString('base64') } : null });
  });
  r.post('/workers/leases/:id', async (req, res) => {
    const id = leaseId.parse(req.params.id);
    const { pack, embeddings } = workerAnswerSchema.parse(req.body);
    if (!(await pull!.answer(id, pack, Buffer.from(embeddings, 'base64')))) {
      throw new AppError(409, 'lease_gone', `batch ${id} was answered already, or its lease expired and it went to another encoder`);
    }
    res.json({ id, accepted: true });
  });
  return r;
}
