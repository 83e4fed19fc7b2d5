import { randomUUID } from 'node:crypto';
import type { SendableDelivery, WebhookRepository, WebhookRow } from '../db/repositories';
import type { DomainEvent, EventSink } from '../events/events';
import type { Logger } from '../util/logger';
import { postJson } from './postJson';
import { webhookHeaders } from './signature';

export interface DispatcherSettings {
  timeoutMs: number;
  /** Attempts before a delivery is given up (marked failed). */
  maxAttempts: number;
  /** First retry delay; doubles per attempt, at most an hour. */
  retryBaseMs: number;
  /** How often deliveries recorded by other processes (the ingest CLI) are looked for. */
  pollMs: number;
  allowPrivate: boolean;
}

const MAX_RETRY_MS = 3_600_000;
const BATCH = 50;

export interface DeliveryOutcome {
  state: 'pending' | 'delivered' | 'failed';
  status: number | null;
  error: string | null;
}

/**
 * Webhooks: an event is written to the outbox (one delivery per subscriber) before emit resolves,
 * then sent signed, and retried with backoff until a 2xx answer or maxAttempts. Delivery is at least
 * once: receivers drop duplicates by the webhook-id header (the event id).
 */
export class WebhookDispatcher implements EventSink {
  private timer: NodeJS.Timeout | null = null;
  private draining: Promise<void> | null = null;
  private stopped = true;

  constructor(
    private readonly repo: WebhookRepository,
    private readonly settings: DispatcherSettings,
    private readonly log: Logger,
  ) {}

  /** A claimed delivery is attempted within its timeout; one whose sender died is due again after this. */
  private get leaseMs(): number {
    return 2 * this.settings.timeoutMs + 10_000;
  }

  async emit(events: readonly DomainEvent[]): Promise<void> {
    if (events.length === 0) return;
    const subscribers = await this.repo.subscribersOf([...new Set(events.map((e) => e.owner))]);
    const wants = (w: WebhookRow, e: DomainEvent) =>
      (w.owner === null || w.owner === e.owner) && e.type !== 'webhook.test' && (w.events.length === 0 || w.events.includes(e.type));
    const deliveries = events.flatMap((e) => {
      const targets = subscribers.filter((w) => wants(w, e));
      if (targets.length === 0) return [];
      const envelope = this.envelope(e);
      return targets.map((w) => ({ webhookId: w.id, ...envelope }));
    });
    if (deliveries.length === 0) return;
    await this.repo.addDeliveries(deliveries);
    this.wake();
  }

  /** Sends a webhook.test event to one subscription now, and reports how its first attempt went. */
  async test(webhook: WebhookRow): Promise<DeliveryOutcome & { eventId: string }> {
    const envelope = this.envelope({ type: 'webhook.test', owner: webhook.owner ?? '', data: { webhookId: webhook.id } });
    // Recorded already leased to this call: the poller (this process's or another's) cannot send it first.
    const delivery = await this.repo.addLeasedDelivery({ webhookId: webhook.id, ...envelope }, this.leaseMs);
    return { eventId: envelope.eventId, ...(await this.attempt(delivery)) };
  }

  private envelope(e: DomainEvent): { eventId: string; type: string; body: string } {
    const eventId = randomUUID();
    return { eventId, type: e.type, body: JSON.stringify({ id: eventId, type: e.type, createdAt: new Date().toISOString(), owner: e.owner, data: e.data }) };
  }

  start(): void {
    this.stopped = false;
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.draining;
  }

  /** Resolves when nothing is due now (tests). */
  async settle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private wake(): void {
    if (this.stopped || this.draining) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.draining = this.drain()
      .catch((e: Error) => this.log.warn({ err: e.message }, 'webhook delivery pass failed'))
      .finally(() => {
        this.draining = null;
        void this.scheduleNext();
      });
  }

  private async scheduleNext(): Promise<void> {
    if (this.stopped) return;
    const next = await this.repo.nextDue().catch(() => null);
    const delay = Math.min(next ? Math.max(next.getTime() - Date.now(), 0) : this.settings.pollMs, this.settings.pollMs);
    if (this.stopped || this.draining) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.wake(), delay);
    this.timer.unref();
  }

  private async drain(): Promise<void> {
    for (;;) {
      const due = await this.repo.claimDue(BATCH, this.leaseMs);
      if (due.length === 0 || this.stopped) return;
      // Different receivers in parallel; one slow receiver costs at most its timeout per pass.
      await Promise.all(due.map((d) => this.attempt(d)));
    }
  }

  private async attempt(d: SendableDelivery): Promise<DeliveryOutcome> {
    let status: number | null = null;
    let error: string | null = null;
    try {
      status = await postJson(d.webhook.url, d.body, webhookHeaders(d.webhook.secret, d.eventId, d.body), this.settings);
      if (status < 200 || status >= 300) error = `receiver answered HTTP ${status}`;
    } catch (e) {
      error = (e as Error).message;
    }
    const attempts = d.attempts + 1;
    const outcome: DeliveryOutcome = { state: error === null ? 'delivered' : attempts >= this.settings.maxAttempts ? 'failed' : 'pending', status, error };
    const nextAttemptAt =
      outcome.state === 'pending' ? new Date(Date.now() + Math.min(this.settings.retryBaseMs * 2 ** (attempts - 1), MAX_RETRY_MS)) : undefined;
    await this.repo.recordAttempt(d.id, { ...outcome, nextAttemptAt });
    if (outcome.state === 'failed') this.log.warn({ delivery: d.id, url: d.webhook.url, attempts, err: error }, 'webhook delivery given up');
    return outcome;
  }
}
