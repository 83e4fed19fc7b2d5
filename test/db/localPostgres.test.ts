import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';
import pino from 'pino';
import { npmPostgresBin, startLocalPostgres } from '../../src/db/localPostgres';
import { superviseLocalPostgres } from '../../src/db/localPostgresSupervisor';
import { killPostgres } from '../helpers/serviceProcess';
import { eventually } from '../helpers/webhookReceiver';
import { tempDir } from '../helpers/env';

const asRoot = process.getuid?.() === 0;

describe('local PostgreSQL cluster', () => {
  (asRoot ? test : test.skip)('a data folder inside a root-only folder fails with a message that says why and what to do', async () => {
    const closed = await tempDir('closed');
    await chmod(closed, 0o700);
    const dir = path.join(closed, 'data', 'postgres');
    await mkdir(dir, { recursive: true });
    await expect(startLocalPostgres({ dir })).rejects.toThrow(
      new RegExp(`cannot reach .*${closed} is closed to other users \\(mode 700\\).*chmod o\\+x ${closed}`),
    );
  });
});

describe('PostgreSQL binaries from npm', () => {
  test('run the local cluster where the system has none (as root, under the postgres user)', async () => {
    const bin = npmPostgresBin();
    expect(bin).toBeDefined();
    const parent = await tempDir('npm-pg');
    await chmod(parent, 0o755);
    const dir = path.join(parent, 'postgres');
    const pg = await startLocalPostgres({ dir, bin: bin!, database: 'imagesearch' });
    try {
      const client = new Client({ connectionString: pg.url });
      await client.connect();
      const { rows } = await client.query<{ v: string }>("SELECT current_setting('server_version') AS v");
      await client.end();
      expect(rows[0]!.v).toMatch(/^17\./);
      // A second start joins the running cluster and its existing database.
      const again = await startLocalPostgres({ dir, bin: bin!, database: 'imagesearch' });
      expect(again.ownsServer).toBe(false);
    } finally {
      await pg.stop();
    }
  }, 60_000);
});

describe('local PostgreSQL supervision', () => {
  test('a cluster this process started that is killed is started again on its port, with what it had committed', async () => {
    const parent = await tempDir('pg-revive');
    await chmod(parent, 0o755);
    const dir = path.join(parent, 'postgres');
    const pg = await startLocalPostgres({ dir });
    const lines: string[] = [];
    const supervisor = superviseLocalPostgres(pg, 200, pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) }));
    const sql = async (q: string) => {
      const client = new Client({ connectionString: pg.url });
      await client.connect();
      try {
        return (await client.query(q)).rows;
      } finally {
        await client.end();
      }
    };
    try {
      await sql('CREATE TABLE kept (x int)');
      await sql('INSERT INTO kept VALUES (7)');
      expect(await killPostgres(dir)).toBe(true);
      await eventually('the cluster started again', async () => lines.find((l) => l.includes('the local PostgreSQL had stopped: started it again')), 60_000);
      expect(await eventually('an answer', () => sql('SELECT x FROM kept').catch(() => undefined))).toEqual([{ x: 7 }]);
    } finally {
      await supervisor.stop();
      await pg.stop();
    }
  }, 90_000);

  test('a server left running by a process that is gone (a killed service) is owned by the next start (so supervised), which stops it', async () => {
    const parent = await tempDir('pg-adopt');
    await chmod(parent, 0o755);
    const dir = path.join(parent, 'postgres');
    const first = await startLocalPostgres({ dir });
    try {
      // The starter was SIGKILLed: its server runs on, and the file naming it names a process that is gone.
      await writeFile(path.join(dir, 'owner.pid'), '99999999');
      const next = await startLocalPostgres({ dir });
      expect(next).toMatchObject({ ownsServer: true, url: first.url });
      expect(await readFile(path.join(dir, 'owner.pid'), 'utf8')).toBe(String(process.pid));
      await next.stop();
      expect(existsSync(path.join(dir, 'data', 'postmaster.pid'))).toBe(false);
    } finally {
      await first.stop().catch(() => undefined);
    }
  }, 90_000);
});
