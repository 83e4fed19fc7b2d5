import type { Logger } from '../util/logger';
import type { LocalPostgres } from './localPostgres';

/**
 * Keeps the embedded PostgreSQL running: a server that died (the OOM killer, a crash) and that this process owns,
 * or whose owner has ended, is started again on its port, so the pools reconnect and paused jobs resume with no one restarting the service.
 * Checks one at a time; a start that fails (a dying server's memory still held) is tried again at the next check.
 */
export function superviseLocalPostgres(pg: LocalPostgres, everyMs: number, log?: Logger): { stop(): Promise<void> } {
  let timer: NodeJS.Timeout | null = null;
  let checking: Promise<void> = Promise.resolve();
  let stopped = false;
  const check = async () => {
    try {
      if (await pg.revive()) log?.warn({ dataDir: pg.dataDir }, 'the local PostgreSQL had stopped: started it again');
    } catch (e) {
      log?.error({ dataDir: pg.dataDir, err: (e as Error).message }, 'the local PostgreSQL has stopped and could not be started again; retrying');
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      checking = check().finally(schedule);
    }, everyMs);
    timer.unref();
  };
  // A process that joined another's cluster checks too: it may own it by now, or its owner may be gone.
  schedule();
  return {
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await checking;
    },
  };
}
