import { readFileSync } from 'node:fs';

/**
 * The nice value in a /proc stat file (a process's or a thread's): field 19 of stat(5), counted after
 * the command in parentheses, which may hold spaces.
 */
export function niceFromStat(statFile: string): number {
  const stat = readFileSync(statFile, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}
