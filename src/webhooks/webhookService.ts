import type { DeliveryRow, WebhookRepository, WebhookRow } from '../db/repositories';
import { AppError } from '../errors/appError';
import type { SubscribableEvent } from '../events/events';
import { parseFetchableUrl, refuseLiteralPrivateHost } from '../net/addressGuard';
import { newWebhookSecret } from './signature';
import type { DeliveryOutcome, WebhookDispatcher } from './webhookDispatcher';

export interface WebhookView {
  id: string;
  owner: string | null;
  url: string;
  events: string[];
  createdAt: string;
}

export interface DeliveryView {
  id: string;
  eventId: string;
  type: string;
  state: DeliveryRow['state'];
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
  nextAttemptAt: string | null;
}

function view(w: WebhookRow): WebhookView {
  return { id: w.id, owner: w.owner, url: w.url, events: w.events, createdAt: w.createdAt.toISOString() };
}

function deliveryView(d: DeliveryRow): DeliveryView {
  return {
    id: d.id,
    eventId: d.eventId,
    type: d.type,
    state: d.state,
    attempts: d.attempts,
    lastStatus: d.lastStatus,
    lastError: d.lastError,
    createdAt: d.createdAt.toISOString(),
    deliveredAt: d.deliveredAt?.toISOString() ?? null,
    nextAttemptAt: d.state === 'pending' ? d.nextAttemptAt.toISOString() : null,
  };
}

/** Subscriptions as owners manage them: a tenant's own, or global ones (owner null) an operator adds. */
export class WebhookService {
  constructor(
    private readonly repo: WebhookRepository,
    private readonly dispatcher: WebhookDispatcher,
    private readonly allowPrivate: boolean,
  ) {}

  /** The secret is in this answer only; it is what the receiver verifies signatures with. */
  async create(owner: string | null, url: string, events: SubscribableEvent[]): Promise<WebhookView & { secret: string }> {
    const parsed = parseFetchableUrl(url);
    if (!this.allowPrivate) refuseLiteralPrivateHost(parsed);
    const row = await this.repo.create({ owner, url: parsed.toString(), secret: newWebhookSecret(), events });
    return { ...view(row), secret: row.secret };
  }

  async list(owner: string | undefined): Promise<WebhookView[]> {
    return (await this.repo.list(owner)).map(view);
  }

  remove(id: string, owner: string | undefined): Promise<boolean> {
    return this.repo.remove(id, owner);
  }

  async deliveries(
    id: string,
    owner: string | undefined,
    page: { offset: number; limit: number },
  ): Promise<{ deliveries: DeliveryView[]; nextOffset: number | null }> {
    await this.get(id, owner);
    const rows = await this.repo.deliveries(id, page.offset, page.limit + 1);
    return { deliveries: rows.slice(0, page.limit).map(deliveryView), nextOffset: rows.length > page.limit ? page.offset + page.limit : null };
  }

  async test(id: string, owner: string | undefined): Promise<DeliveryOutcome & { eventId: string }> {
    return this.dispatcher.test(await this.get(id, owner));
  }

  private async get(id: string, owner: string | undefined): Promise<WebhookRow> {
    const row = await this.repo.find(id, owner);
    if (!row) throw new AppError('not_found', `webhook ${id} not found`);
    return row;
  }
}
