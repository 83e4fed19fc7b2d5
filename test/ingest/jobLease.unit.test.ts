import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { isDeadLocalHolder, leaseHolderName } from '../../ingest/jobLease';

describe('who still holds a job lease', () => {
  test('a process of this host that is gone is dead; anything it cannot be sure of is not', () => {
    const mine = leaseHolderName();
    expect(isDeadLocalHolder(mine)).toBe(false);
    // A process that ran and exited: its pid is free (until reused).
    const exited = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    expect(isDeadLocalHolder(`${hostname()}:${exited.stdout.trim()}:abc123`)).toBe(true);
    // An earlier run that had this process's pid (pid 1 in a container), under a name this process never made.
    expect(isDeadLocalHolder(`${hostname()}:${process.pid}:0ld000`)).toBe(true);
    // A live process of this host, another host's process, and names that are not ours to judge.
    expect(isDeadLocalHolder(`${hostname()}:${process.ppid}:abc123`)).toBe(false);
    expect(isDeadLocalHolder(`some-other-host:${exited.stdout.trim()}:abc123`)).toBe(false);
    expect(isDeadLocalHolder('not a holder name')).toBe(false);
  });
});
