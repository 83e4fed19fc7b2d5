import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * The service as a user runs it (`npm start`: node with tsx's loader, its own local PostgreSQL under DATA_DIR), in a process
 * group of its own so a SIGKILL takes its decode processes and ffmpeg with it, as a crash or an OOM kill would.
 * PostgreSQL is its own session (pg_ctl starts it so) and survives, as it would.
 */
export class ServiceProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  readonly url: string;

  constructor(
    private readonly env: Record<string, string>,
    readonly port: number,
    private readonly logFile: string,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** Starts the service and waits until /readyz says ready; throws if it exits or takes over `timeoutMs`. */
  async start(timeoutMs = 180_000): Promise<number> {
    const started = Date.now();
    const log = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...this.env, PORT: String(this.port), HOST: '127.0.0.1' },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    this.child = child;
    let gone = false;
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        gone = true;
        if (this.child === child) this.child = null;
        resolve();
      }),
    );
    while (Date.now() - started < timeoutMs) {
      if (gone) throw new Error(`the service exited while starting; see ${this.logFile}`);
      try {
        const res = await fetch(`${this.url}/readyz`);
        if (res.status === 200) return Date.now() - started;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the service was not ready within ${timeoutMs} ms; see ${this.logFile}`);
  }

  /** SIGKILL to the whole process group: no shutdown code runs. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child?.pid) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // gone already
    }
    await this.exited;
  }

  /** SIGTERM: the service drains and stops (its PostgreSQL, when it started it, too). */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child?.pid) return;
    child.kill('SIGTERM');
    await this.exited;
  }
}

/** SIGKILL to a local cluster's postmaster and every backend it started: a crash of the database server. */
export async function killPostgres(clusterDir: string): Promise<boolean> {
  let pid: number;
  try {
    pid = Number((await readFile(path.join(clusterDir, 'data', 'postmaster.pid'), 'utf8')).split('\n')[0]);
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const children = await new Promise<number[]>((resolve) => {
    const ps = spawn('ps', ['-o', 'pid=', '--ppid', String(pid)]);
    let out = '';
    ps.stdout.on('data', (d: Buffer) => (out += d.toString()));
    ps.on('close', () => resolve(out.split(/\s+/).filter(Boolean).map(Number)));
  });
  for (const p of [pid, ...children]) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  return true;
}
