import { randomUUID } from 'node:crypto';
import type { SendableDelivery, WebhookRepository, WebhookRow } from '../db/repositories';
import type { DomainEvent, EventSink } from '../events/events';
import type { Logger } from '../util/logger';
import { StageRunner } from '../stages/stageRunner';
import type { Outcome, WorkItem, WorkQueue } from '../stages/workQueue';
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

export interface DeliveryOutcome {
  state: 'pending' | 'delivered' | 'failed';
  status: number | null;
  error: string | null;
}

/** A receiver's answer other than 2xx: retried, and its status recorded. */
class ReceiverRefused extends Error {
  constructor(readonly status: number) {
    super(`receiver answered HTTP ${status}`);
  }
}

type DeliveryItem = WorkItem & SendableDelivery;

/** The outbox table as the runner's queue. */
class Outbox implements WorkQueue<DeliveryItem, number> {
  constructor(
    private readonly repo: WebhookRepository,
    private readonly log: Logger,
  ) {}

  claim(take: number, leaseMs: number): Promise<DeliveryItem[]> {
    return this.repo.claimDue(take, leaseMs);
  }

  async settle(d: DeliveryItem, outcome: Outcome<number>): Promise<void> {
    const status = outcome.state === 'done' ? outcome.result : outcome.cause instanceof ReceiverRefused ? outcome.cause.status : null;
    await this.repo.recordAttempt(d.id, {
      state: outcome.state === 'done' ? 'delivered' : outcome.state === 'retry' ? 'pending' : 'failed',
      status,
      error: outcome.state === 'done' ? null : outcome.error,
      nextAttemptAt: outcome.state === 'retry' ? outcome.dueAt : undefined,
    });
    if (outcome.state === 'failed')
      this.log.warn({ delivery: d.id, url: d.webhook.url, attempts: d.attempts + 1, err: outcome.error }, 'webhook delivery given up');
  }

  release(ids: readonly string[]): Promise<void> {
    return this.repo.release(ids);
  }

  nextDue(): Promise<Date | null> {
    return this.repo.nextDue();
  }
}

/**
 * Webhooks: an event is written to the outbox (one delivery per subscriber) before emit resolves,
 * then sent signed by the stage runner, and retried with backoff until a 2xx answer or maxAttempts.
 * Delivery is at least once: receivers drop duplicates by the webhook-id header (the event id).
 */
export class WebhookDispatcher implements EventSink {
  private readonly runner: StageRunner<DeliveryItem, number>;

  constructor(
    private readonly repo: WebhookRepository,
    private readonly settings: DispatcherSettings,
    log: Logger,
  ) {
    // Different receivers in parallel; one slow receiver holds one slot for at most its timeout.
    const runnerSettings = {
      concurrency: 16,
      page: 50,
      leaseMs: this.leaseMs,
      pollMs: settings.pollMs,
      maxAttempts: settings.maxAttempts,
      retryBaseMs: settings.retryBaseMs,
      retryMaxMs: MAX_RETRY_MS,
    };
    this.runner = new StageRunner('webhooks', new Outbox(repo, log), (d) => this.send(d), runnerSettings, log);
  }

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
    this.runner.wake();
  }

  /** Sends a webhook.test event to one subscription now, and reports how its first attempt went. */
  async test(webhook: WebhookRow): Promise<DeliveryOutcome & { eventId: string }> {
    const envelope = this.envelope({ type: 'webhook.test', owner: webhook.owner ?? '', data: { webhookId: webhook.id } });
    // Recorded already leased to this call: the poller (this process's or another's) cannot send it first.
    const delivery = await this.repo.addLeasedDelivery({ webhookId: webhook.id, ...envelope }, this.leaseMs);
    const outcome = await this.runner.runNow(delivery);
    if (outcome.state === 'done') return { eventId: envelope.eventId, state: 'delivered', status: outcome.result, error: null };
    const status = outcome.cause instanceof ReceiverRefused ? outcome.cause.status : null;
    return { eventId: envelope.eventId, state: outcome.state === 'retry' ? 'pending' : 'failed', status, error: outcome.error };
  }

  private envelope(e: DomainEvent): { eventId: string; type: string; body: string } {
    const eventId = randomUUID();
    return { eventId, type: e.type, body: JSON.stringify({ id: eventId, type: e.type, createdAt: new Date().toISOString(), owner: e.owner, data: e.data }) };
  }

  start(): void {
    this.runner.start();
  }

  stop(): Promise<void> {
    return this.runner.stop();
  }

  /** Resolves when nothing is due now (tests). */
  settle(): Promise<void> {
    return this.runner.idle();
  }

  /** One attempt: the receiver's 2xx status, or a throw the runner retries. */
  private async send(d: SendableDelivery): Promise<number> {
    const status = await postJson(d.webhook.url, d.body, webhookHeaders(d.webhook.secret, d.eventId, d.body), this.settings);
    if (status < 200 || status >= 300) throw new ReceiverRefused(status);
    return status;
  }
}
