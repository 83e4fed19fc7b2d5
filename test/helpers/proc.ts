import { readdirSync, readFileSync } from 'node:fs';

/** The fields of a /proc stat file (a process's or a thread's) after the command in parentheses, which may hold spaces: stat(5)'s field 3 is [0]. */
function statFields(statFile: string): string[] {
  const stat = readFileSync(statFile, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** The nice value: field 19 of stat(5). */
export function niceFromStat(statFile: string): number {
  return Number(statFields(statFile)[16]);
}

/** The scheduling state, field 3 of stat(5): R running, S sleeping, T stopped by a signal, ... */
export function stateFromStat(statFile: string): string {
  return statFields(statFile)[0]!;
}

/** The parent's process id, field 4 of stat(5). */
export function parentFromStat(statFile: string): number {
  return Number(statFields(statFile)[1]);
}

/**
 * The states of the processes `pids()` names once each is `wanted`, or as they are after a second: a
 * signal takes effect when its process next runs.
 */
export async function statesOnce(pids: () => number[], wanted: (state: string) => boolean): Promise<string[]> {
  const states = () => pids().map((pid) => stateFromStat(`/proc/${pid}/stat`));
  for (let i = 0; i < 50 && !states().every(wanted); i++) await new Promise((r) => setTimeout(r, 20));
  return states();
}

/** Nice values of this process's threads, by thread id. */
export function threadNices(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) out.set(Number(tid), niceFromStat(`/proc/self/task/${tid}/stat`));
  return out;
}
