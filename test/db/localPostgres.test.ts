import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';
import pino from 'pino';
import { npmPostgresBin, startLocalPostgres } from '../../src/db/localPostgres';
import { superviseLocalPostgres } from '../../src/db/localPostgresSupervisor';
import { spawn } from 'node:child_process';
import { makeTestPack } from '../../scripts/test-pack/make';
import { freePort, killPostgres, ServiceProcess } from '../helpers/serviceProcess';
import { eventually } from '../helpers/webhookReceiver';
import { tempDir } from '../helpers/env';

const asRoot = process.getuid?.() === 0;

/** A folder for a cluster of its own, inside one the postgres user can enter. */
async function clusterDir(prefix: string): Promise<string> {
  const parent = await tempDir(prefix);
  await chmod(parent, 0o755);
  return path.join(parent, 'postgres');
}

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
    const dir = await clusterDir('npm-pg');
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
    const dir = await clusterDir('pg-revive');
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
    const dir = await clusterDir('pg-adopt');
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

  test('a killed server whose postmaster is a zombie not reaped yet is started again once it is reaped, not taken for running (found by the crash soak)', async () => {
    const dir = await clusterDir('pg-zombie');
    const first = await startLocalPostgres({ dir });
    const lockFile = path.join(dir, 'data', 'postmaster.pid');
    const lock = await readFile(lockFile, 'utf8');
    expect(await killPostgres(dir)).toBe(true);
    // A zombie: a child whose parent never reaps it (the shell became `sleep 4`), reaped by init once that ends.
    const holder = spawn('sh', ['-c', 'sleep 0.2 & echo $!; exec sleep 4']);
    const zombie = Number(await new Promise<string>((resolve) => holder.stdout.once('data', (d: Buffer) => resolve(d.toString()))));
    await eventually('a zombie', async () => ((await readFile(`/proc/${zombie}/stat`, 'utf8')).includes(') Z ') ? true : undefined));
    // The killed server's lock file names its postmaster, not reaped yet; the service that started it is gone.
    await writeFile(lockFile, lock.replace(/^\d+/, String(zombie)));
    await writeFile(path.join(dir, 'owner.pid'), '99999999');
    const next = await startLocalPostgres({ dir });
    try {
      expect(next.ownsServer).toBe(true);
      const client = new Client({ connectionString: next.url });
      await client.connect();
      expect((await client.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      await client.end();
    } finally {
      await next.stop();
      await first.stop().catch(() => undefined);
    }
  }, 90_000);

  test('a lock file whose pid went to another process (as after a reboot) fails the start at once, saying what to remove', async () => {
    const dir = await clusterDir('pg-foreign');
    const first = await startLocalPostgres({ dir });
    const lockFile = path.join(dir, 'data', 'postmaster.pid');
    const lock = await readFile(lockFile, 'utf8');
    await first.stop();
    const other = spawn('sleep', ['30']);
    try {
      await writeFile(lockFile, lock.replace(/^\d+/, String(other.pid)));
      await expect(startLocalPostgres({ dir })).rejects.toThrow(
        new RegExp(`names process ${other.pid} \\(sleep\\), which is not PostgreSQL.*remove ${lockFile} and start again`),
      );
    } finally {
      other.kill();
    }
  }, 90_000);

  test('a CLI that started the cluster and ends while the service uses it hands the cluster over instead of stopping it', async () => {
    const parent = await tempDir('pg-handover');
    await chmod(parent, 0o755);
    const dataDir = path.join(parent, 'data');
    const dir = path.join(dataDir, 'postgres');
    await makeTestPack(path.join(parent, 'test-pack'));
    // This process plays the CLI: it started the cluster; the service, started after it, joins.
    const cli = await startLocalPostgres({ dir });
    const service = new ServiceProcess(
      { DATA_DIR: dataDir, MODEL_DIR: path.join(parent, 'test-pack'), MODELS_AUTO_FETCH: 'false', OCR: 'off', LOCAL_POSTGRES_CHECK_MS: '200' },
      await freePort(),
      path.join(parent, 'service.log'),
    );
    try {
      await service.start();
      await cli.stop();
      const heir = Number(await readFile(path.join(dir, 'owner.pid'), 'utf8'));
      expect(heir).not.toBe(process.pid);
      expect(existsSync(path.join(dir, 'data', 'postmaster.pid'))).toBe(true);
      // The service still reads its database, and is now the one that stops the server.
      const res = await fetch(`${service.url}/readyz`);
      expect(res.status).toBe(200);
      await service.stop();
      expect(existsSync(path.join(dir, 'data', 'postmaster.pid'))).toBe(false);
    } finally {
      await service.kill();
      await killPostgres(dir);
    }
  }, 180_000);

  test('a process that joined starts the server again when the process that started it stopped it and ended', async () => {
    const dir = await clusterDir('pg-orphan');
    const first = await startLocalPostgres({ dir });
    // Another live process owns the server (the CLI that started it), and this one joins it.
    const other = spawn('sleep', ['600']);
    await writeFile(path.join(dir, 'owner.pid'), String(other.pid));
    const joined = await startLocalPostgres({ dir });
    expect(joined.ownsServer).toBe(false);
    const lines: string[] = [];
    const supervisor = superviseLocalPostgres(joined, 200, pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) }));
    try {
      expect(await joined.revive()).toBe(false);
      // That process stops the server (as a CLI did before it handed clusters over) and ends.
      expect(await killPostgres(dir)).toBe(true);
      other.kill('SIGKILL');
      await eventually('the cluster started again', async () => lines.find((l) => l.includes('the local PostgreSQL had stopped: started it again')), 60_000);
      expect(await readFile(path.join(dir, 'owner.pid'), 'utf8')).toBe(String(process.pid));
      const client = new Client({ connectionString: joined.url });
      await client.connect();
      await client.end();
      await supervisor.stop();
      await joined.stop();
      expect(existsSync(path.join(dir, 'data', 'postmaster.pid'))).toBe(false);
    } finally {
      other.kill('SIGKILL');
      await supervisor.stop();
      await first.stop().catch(() => undefined);
      await killPostgres(dir);
    }
  }, 90_000);
});
