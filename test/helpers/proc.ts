import { readdirSync, readFileSync } from 'node:fs';

/**
 * The nice value in a /proc stat file (a process's or a thread's): field 19 of stat(5), counted after
 * the command in parentheses, which may hold spaces.
 */
export function niceFromStat(statFile: string): number {
  const stat = readFileSync(statFile, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

/** Nice values of this process's threads, by thread id. */
export function threadNices(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) out.set(Number(tid), niceFromStat(`/proc/self/task/${tid}/stat`));
  return out;
}
