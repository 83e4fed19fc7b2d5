import type { Logger } from '../util/logger';

/** What was opened, closed in reverse order: the service's shutdown, or the undoing of a start that failed part-way. */
export class Closers {
  private readonly steps: (() => Promise<void>)[] = [];

  constructor(private readonly log: Logger) {}

  /** Remembers how to close `thing` and returns it. */
  own<T>(thing: T, close: (t: T) => unknown): T {
    this.steps.push(async () => {
      await close(thing);
    });
    return thing;
  }

  async closeAll(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) await step().catch((e: Error) => this.log.error({ err: e.message }, 'shutdown step failed'));
  }
}
