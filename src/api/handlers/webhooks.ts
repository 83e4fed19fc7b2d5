import type { WebhookService } from '../../webhooks/webhookService';
import type { webhookRoutes } from '../contract/webhooks';
import type { Handlers } from '../router';
import { encodeCursor } from '../schemas/requests';

/** Webhook subscriptions: a tenant's are its owner's; an operator's without an owner hear every owner. */
export function webhookHandlers(webhooks: WebhookService): Handlers<typeof webhookRoutes> {
  return {
    createWebhook: async ({ body, owner }) => webhooks.create(owner ?? null, body.url, body.events),
    listWebhooks: async ({ owner }) => ({ webhooks: await webhooks.list(owner) }),
    deleteWebhook: async ({ params, owner }) => ({ id: params.id, deleted: await webhooks.remove(params.id, owner) }),
    webhookDeliveries: async ({ params, query, owner }) => {
      const page = await webhooks.deliveries(params.id, owner, { offset: query.cursor ?? 0, limit: query.limit });
      return { deliveries: page.deliveries, nextCursor: page.nextOffset === null ? null : encodeCursor(page.nextOffset) };
    },
    testWebhook: async ({ params, owner }) => webhooks.test(params.id, owner),
  };
}
