import { readFileSync } from 'node:fs';

/**
 * Whether a process of this host with this pid runs (one of another user counts: EPERM). A zombie does not: it
 * has ended and waits for its parent to reap it, which an init that reaps lazily can leave for a while (a killed
 * PostgreSQL's postmaster, whose parent is init, or a killed service's lock holder).
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !isZombie(pid);
}

/** A process that has ended and is not reaped yet (Linux's /proc; elsewhere never). */
export function isZombie(pid: number): boolean {
  return procStat(pid)?.state === 'Z';
}

/** The process's command name (Linux's /proc; null elsewhere, or when there is no such process). */
export function processName(pid: number): string | null {
  return procStat(pid)?.name ?? null;
}

function procStat(pid: number): { name: string; state: string } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S ...": comm may hold spaces and parentheses, the state follows the last ')'.
    const end = stat.lastIndexOf(')');
    return { name: stat.slice(stat.indexOf('(') + 1, end), state: stat.slice(end + 2, end + 3) };
  } catch {
    return null;
  }
}
