import { Router } from 'express';
import { AppError } from '../../errors/appError';
import type { WebhookService } from '../../webhooks/webhookService';
import { principalOf, requireScope } from '../auth';
import { requireContentType } from '../uploads';
import { encodeCursor, imageIdSchema, listDeliveriesQuerySchema, webhookCreateSchema, type Limits } from '../schemas/requests';

/**
 * Webhook subscriptions. A tenant key manages its owner's; an operator names an owner, or none for
 * a global subscription that hears every owner's events.
 */
export function webhookRoutes(webhooks: WebhookService, limits: Limits): Router {
  const r = Router();
  r.use('/webhooks', requireScope('ingest'));
  const tenantOf = (res: Parameters<typeof principalOf>[0]) => principalOf(res).owner ?? undefined;

  r.post('/webhooks', requireContentType('application/json'), async (req, res) => {
    const body = webhookCreateSchema.parse(req.body ?? {});
    const principal = principalOf(res);
    if (principal.owner !== null && body.owner !== undefined && body.owner !== principal.owner) {
      throw new AppError(403, 'forbidden', `this API key may only act for owner "${principal.owner}"`);
    }
    res.status(201).json(await webhooks.create(principal.owner ?? body.owner ?? null, body.url, body.events));
  });

  r.get('/webhooks', async (_req, res) => {
    res.json({ webhooks: await webhooks.list(tenantOf(res)) });
  });

  r.delete('/webhooks/:id', async (req, res) => {
    const id = imageIdSchema.parse(req.params.id);
    res.json({ id, deleted: await webhooks.remove(id, tenantOf(res)) });
  });

  r.get('/webhooks/:id/deliveries', async (req, res) => {
    const { limit, cursor } = listDeliveriesQuerySchema(limits).parse(req.query);
    const page = await webhooks.deliveries(imageIdSchema.parse(req.params.id), tenantOf(res), { offset: cursor ?? 0, limit });
    res.json({ deliveries: page.deliveries, nextCursor: page.nextOffset === null ? null : encodeCursor(page.nextOffset) });
  });

  r.post('/webhooks/:id/test', async (req, res) => {
    res.json(await webhooks.test(imageIdSchema.parse(req.params.id), tenantOf(res)));
  });
  return r;
}
