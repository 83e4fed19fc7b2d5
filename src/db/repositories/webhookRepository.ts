import { randomUUID } from 'node:crypto';
import type { Webhook, WebhookDelivery } from '../generated/client';
import type { Db } from '../prisma';
import { msFromNow } from './sqlFragments';

export type WebhookRow = Webhook;
export type DeliveryRow = WebhookDelivery;
/** A delivery with where to send it. */
export type SendableDelivery = DeliveryRow & { webhook: Pick<WebhookRow, 'url' | 'secret'> };

export interface NewDelivery {
  webhookId: string;
  eventId: string;
  type: string;
  body: string;
}

/** Webhook subscriptions and their deliveries (the outbox the dispatcher works from, and the log subscribers read). */
export class WebhookRepository {
  constructor(private readonly db: Db) {}

  create(w: { owner: string | null; url: string; secret: string; events: string[] }): Promise<WebhookRow> {
    return this.db.webhook.create({ data: w });
  }

  /** `owner`'s subscriptions; every one (global ones included) when owner is undefined. */
  list(owner: string | undefined): Promise<WebhookRow[]> {
    return this.db.webhook.findMany({ where: owner !== undefined ? { owner } : {}, orderBy: { createdAt: 'asc' } });
  }

  find(id: string, owner: string | undefined): Promise<WebhookRow | null> {
    return this.db.webhook.findFirst({ where: { id, ...(owner !== undefined ? { owner } : {}) } });
  }

  /** Deletes a subscription and its delivery log; false when it was not there (or not the owner's). */
  async remove(id: string, owner: string | undefined): Promise<boolean> {
    return (await this.db.webhook.deleteMany({ where: { id, ...(owner !== undefined ? { owner } : {}) } })).count > 0;
  }

  async removeOwner(owner: string): Promise<number> {
    return (await this.db.webhook.deleteMany({ where: { owner } })).count;
  }

  /** Subscriptions that want events of `owner`: that owner's and the global ones. */
  subscribersOf(owners: readonly string[]): Promise<WebhookRow[]> {
    return this.db.webhook.findMany({ where: { OR: [{ owner: null }, { owner: { in: [...owners] } }] } });
  }

  async addDeliveries(deliveries: readonly NewDelivery[]): Promise<void> {
    if (deliveries.length) await this.db.webhookDelivery.createMany({ data: [...deliveries] });
  }

  /**
   * A delivery recorded already leased to its caller, who sends it at once (a test event): no poller can
   * take it between the insert and the send. One whose caller dies is due again after the lease.
   */
  async addLeasedDelivery(delivery: NewDelivery, leaseMs: number): Promise<SendableDelivery> {
    const id = randomUUID();
    await this.db.$executeRaw`
      INSERT INTO webhook_deliveries (id, webhook_id, event_id, type, body, next_attempt_at)
      VALUES (${id}::uuid, ${delivery.webhookId}::uuid, ${delivery.eventId}::uuid, ${delivery.type}, ${delivery.body}, ${msFromNow(leaseMs)})`;
    return this.db.webhookDelivery.findUniqueOrThrow({ where: { id }, include: { webhook: { select: { url: true, secret: true } } } });
  }

  /**
   * Leases pending deliveries whose time has come (oldest first), with where to send them: their next
   * attempt moves `leaseMs` ahead, so instances sharing the database never send one twice at once, and
   * one left by a crashed sender is due again after the lease.
   */
  async claimDue(take: number, leaseMs: number): Promise<SendableDelivery[]> {
    const claimed = await this.db.$queryRaw<{ id: string }[]>`
      UPDATE webhook_deliveries SET next_attempt_at = ${msFromNow(leaseMs)}
      WHERE id IN (
        SELECT id FROM webhook_deliveries
        WHERE state = 'pending' AND next_attempt_at <= now()
        ORDER BY next_attempt_at
        LIMIT ${take} FOR UPDATE SKIP LOCKED)
      RETURNING id`;
    if (claimed.length === 0) return [];
    return this.db.webhookDelivery.findMany({
      where: { id: { in: claimed.map((c) => c.id) } },
      orderBy: { createdAt: 'asc' },
      include: { webhook: { select: { url: true, secret: true } } },
    });
  }

  /** Gives back claimed deliveries not attempted (the sender is stopping): due at once. */
  async release(ids: readonly string[]): Promise<void> {
    if (ids.length) await this.db.webhookDelivery.updateMany({ where: { id: { in: [...ids] }, state: 'pending' }, data: { nextAttemptAt: new Date() } });
  }

  /** When the next pending delivery is due, if any. */
  async nextDue(): Promise<Date | null> {
    const next = await this.db.webhookDelivery.findFirst({ where: { state: 'pending' }, orderBy: { nextAttemptAt: 'asc' }, select: { nextAttemptAt: true } });
    return next?.nextAttemptAt ?? null;
  }

  async recordAttempt(
    id: string,
    outcome: { state: 'pending' | 'delivered' | 'failed'; status: number | null; error: string | null; nextAttemptAt?: Date | undefined },
  ): Promise<void> {
    await this.db.webhookDelivery.update({
      where: { id },
      data: {
        state: outcome.state,
        attempts: { increment: 1 },
        lastStatus: outcome.status,
        lastError: outcome.error,
        ...(outcome.nextAttemptAt ? { nextAttemptAt: outcome.nextAttemptAt } : {}),
        ...(outcome.state === 'delivered' ? { deliveredAt: new Date() } : {}),
      },
    });
  }

  /** A subscription's delivery log, newest first. */
  deliveries(webhookId: string, offset: number, limit: number): Promise<DeliveryRow[]> {
    return this.db.webhookDelivery.findMany({ where: { webhookId }, orderBy: [{ createdAt: 'desc' }, { id: 'asc' }], skip: offset, take: limit });
  }
}
