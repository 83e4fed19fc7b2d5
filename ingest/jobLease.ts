import { hostname } from 'node:os';
import { processAlive } from '../src/util/processAlive';
import { randomBytes } from 'node:crypto';
import type { IngestRepository } from '../src/db/repositories';
import type { Logger } from '../src/util/logger';

export interface LeaseSettings {
  /** How long a lease lasts unless renewed: a crashed holder's job is free again after this. */
  leaseMs: number;
  /** Renewals (and so the time a cancel elsewhere takes to be seen) at most this far apart. */
  pollMs: number;
}

/** Holder names made by this process: one of ours is alive even though it shares our pid. */
const madeHere = new Set<string>();

/** Names this process among those sharing the database (host, pid, and a nonce for several workers in one process). */
export function leaseHolderName(): string {
  const name = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  madeHere.add(name);
  return name;
}

/**
 * Whether a holder is a process of this host that no longer runs: its lease need not run out first
 * (a service restarted after a crash resumes its job at once). Another host's holder is never judged:
 * only its lease tells. A live pid may be a reused one; then the lease is left to run out.
 */
export function isDeadLocalHolder(holder: string): boolean {
  const [host, pid] = splitHolder(holder);
  if (host !== hostname() || !/^\d+$/.test(pid)) return false;
  // Our pid but not a name we made: an earlier run that had our pid (pid 1 in a container).
  if (Number(pid) === process.pid) return !madeHere.has(holder);
  return !processAlive(Number(pid));
}

function splitHolder(holder: string): [host: string, pid: string] {
  const parts = holder.split(':');
  parts.pop(); // the nonce
  const pid = parts.pop() ?? '';
  return [parts.join(':'), pid];
}

/**
 * A held lease on one ingest job, renewed in the background while the job runs. It is lost when the
 * job is cancelled (here or by another instance) or when a renewal finds that another holder took
 * the job over (this process stalled past the lease); the runner then stops after its batch.
 */
export class JobLease {
  private timer: NodeJS.Timeout | null = null;
  private lostFlag = false;

  private constructor(
    private readonly jobs: IngestRepository,
    readonly jobId: string,
    private readonly holder: string,
    private readonly settings: LeaseSettings,
    private readonly log: Logger,
  ) {}

  /** Takes the lease (and starts renewing it), or null while another holder has it or the job has ended. */
  static async take(jobs: IngestRepository, jobId: string, holder: string, settings: LeaseSettings, log: Logger): Promise<JobLease | null> {
    if (!(await jobs.claimJob(jobId, holder, settings.leaseMs))) return null;
    return new JobLease(jobs, jobId, holder, settings, log).renewing();
  }

  /** A lease claimNextJob already took. */
  static held(jobs: IngestRepository, jobId: string, holder: string, settings: LeaseSettings, log: Logger): JobLease {
    return new JobLease(jobs, jobId, holder, settings, log).renewing();
  }

  get lost(): boolean {
    return this.lostFlag;
  }

  private renewing(): this {
    const every = Math.max(10, Math.min(this.settings.pollMs, Math.floor(this.settings.leaseMs / 3)));
    const renew = () => {
      this.jobs
        .renewLease(this.jobId, this.holder, this.settings.leaseMs)
        .then((held) => {
          if (!held) this.lostFlag = true;
        })
        // A database blip is not a lost lease: the next renewal, within the lease, tries again.
        .catch((e: Error) => this.log.warn({ job: this.jobId, err: e.message }, 'could not renew the job lease'))
        .finally(() => {
          if (this.timer && !this.lostFlag) this.timer = setTimeout(renew, every).unref();
        });
    };
    this.timer = setTimeout(renew, every).unref();
    return this;
  }

  /** Stops renewing and frees the job for anyone at once (a stopped, unfinished job is resumed by the next claim). */
  async release(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.jobs.releaseLease(this.jobId, this.holder);
  }
}
