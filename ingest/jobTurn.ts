import type { IngestRepository } from '../src/db/repositories';
import type { Logger } from '../src/util/logger';

export interface TurnSettings {
  /** How long a job runs before it gives way to a waiting job; 0: jobs run to their end. */
  turnMs: number;
  /** How often, once the turn is long enough, the worker asks whether a job waits. */
  pollMs: number;
}

/**
 * One job's turn at the worker. The worker runs one job at a time, so without turns a 10,000-photo
 * import would hold back three photos added meanwhile (another owner's, or the same owner's from a
 * phone) for the whole import. After `turnMs`, the turn is over as soon as another job could be
 * claimed: the job stops taking new photos, writes those it has read, and is claimed again, where it
 * left off, when its turn comes round (claims go to the owner least recently served, then to that
 * owner's job least recently served). Alone in the queue, a job runs on.
 */
export class JobTurn {
  private overFlag = false;
  private timer: NodeJS.Timeout | null = null;

  private constructor(
    private readonly jobs: Pick<IngestRepository, 'anyJobWaiting'>,
    private readonly settings: TurnSettings,
    private readonly log: Logger,
  ) {}

  static start(jobs: Pick<IngestRepository, 'anyJobWaiting'>, settings: TurnSettings, log: Logger): JobTurn {
    const turn = new JobTurn(jobs, settings, log);
    if (settings.turnMs > 0) turn.schedule(settings.turnMs);
    return turn;
  }

  get over(): boolean {
    return this.overFlag;
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.jobs
        .anyJobWaiting()
        .then((waiting) => {
          this.overFlag ||= waiting;
        })
        // The database away: the job runs on, and the lease's own checks find the outage.
        .catch((e: Error) => this.log.warn({ err: e.message }, 'could not ask whether a job waits'))
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
