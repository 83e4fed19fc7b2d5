import type { IngestRepository } from '../src/db/repositories';
import type { Logger } from '../src/util/logger';

export interface TurnSettings {
  /** How long a job runs before it gives way to another owner's waiting job; 0: jobs run to their end. */
  turnMs: number;
  /** How often, once the turn is long enough, the worker asks whether another owner waits. */
  pollMs: number;
}

/**
 * One job's turn at the worker. The worker runs one job at a time, so without turns one owner's
 * 10,000-photo import would hold back another owner's three photos for the whole import. After
 * `turnMs`, the turn is over as soon as another owner's job could be claimed: the job stops taking
 * new photos, writes those it has read, and is claimed again, where it left off, when its owner's
 * turn comes round (claims go to the owner least recently served). Alone in the queue, a job runs on.
 */
export class JobTurn {
  private overFlag = false;
  private timer: NodeJS.Timeout | null = null;

  private constructor(
    private readonly jobs: Pick<IngestRepository, 'otherOwnerWaiting'>,
    private readonly owner: string,
    private readonly settings: TurnSettings,
    private readonly log: Logger,
  ) {}

  static start(jobs: Pick<IngestRepository, 'otherOwnerWaiting'>, owner: string, settings: TurnSettings, log: Logger): JobTurn {
    const turn = new JobTurn(jobs, owner, settings, log);
    if (settings.turnMs > 0) turn.schedule(settings.turnMs);
    return turn;
  }

  get over(): boolean {
    return this.overFlag;
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.jobs
        .otherOwnerWaiting(this.owner)
        .then((waiting) => {
          this.overFlag ||= waiting;
        })
        // The database away: the job runs on, and the lease's own checks find the outage.
        .catch((e: Error) => this.log.warn({ err: e.message }, 'could not ask whether another owner waits'))
        .finally(() => {
          if (this.timer && !this.overFlag) this.schedule(Math.max(10, this.settings.pollMs));
        });
    }, ms).unref();
  }

  end(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
