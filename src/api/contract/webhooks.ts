import { idParams, listDeliveriesQuerySchema, webhookCreateSchema } from '../schemas/requests';
import { deleteResultSchema, deliveryPageSchema, webhookCreatedSchema, webhookListSchema, webhookTestResultSchema } from '../schemas/responses';
import { routes } from './route';

/** A tenant key manages its owner's subscriptions; an operator names an owner, or none for one that hears every owner. */
const subscriber = { caller: 'owner', scope: 'ingest', owner: { from: 'key' } } as const;

export const webhookRoutes = routes({
  createWebhook: {
    at: 'POST /v1/webhooks',
    summary: 'Subscribe a URL to events (image.indexed, image.deleted, job.completed, job.failed); the answer carries the signing secret, once',
    access: { ...subscriber, owner: { from: 'body' } },
    body: { schema: webhookCreateSchema, required: true },
    responses: { 201: webhookCreatedSchema },
    errors: ['url_not_allowed'],
  },
  listWebhooks: {
    at: 'GET /v1/webhooks',
    summary: "The caller's webhook subscriptions (operators: all)",
    access: subscriber,
    responses: { 200: webhookListSchema },
  },
  deleteWebhook: {
    at: 'DELETE /v1/webhooks/{id}',
    summary: 'Unsubscribe (its delivery log goes too)',
    access: subscriber,
    params: idParams,
    responses: { 200: deleteResultSchema },
  },
  webhookDeliveries: {
    at: 'GET /v1/webhooks/{id}/deliveries',
    summary: 'Delivery log, newest first: state, attempts, last HTTP status and error',
    access: subscriber,
    params: idParams,
    query: listDeliveriesQuerySchema,
    responses: { 200: deliveryPageSchema },
  },
  testWebhook: {
    at: 'POST /v1/webhooks/{id}/test',
    summary: 'Send a signed webhook.test event now and report how the receiver answered',
    access: subscriber,
    params: idParams,
    responses: { 200: webhookTestResultSchema },
  },
});
