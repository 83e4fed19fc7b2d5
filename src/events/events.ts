/** What happened in an owner's library, for anyone who subscribed (webhooks). */
export const SUBSCRIBABLE_EVENTS = ['image.indexed', 'image.deleted', 'job.completed', 'job.failed'] as const;
export type SubscribableEvent = (typeof SUBSCRIBABLE_EVENTS)[number];
/** webhook.test goes only to the subscription being tested. */
export type EventType = SubscribableEvent | 'webhook.test';

export interface DomainEvent {
  type: EventType;
  /** Whose library it concerns; global subscriptions see every owner's events. */
  owner: string;
  data: Record<string, unknown>;
}

/** The port services announce events through; the webhook dispatcher is its adapter. */
export interface EventSink {
  /** Durable once it resolves: the event is recorded for every subscriber. */
  emit(events: readonly DomainEvent[]): Promise<void>;
}

export const NO_EVENTS: EventSink = { emit: () => Promise.resolve() };
