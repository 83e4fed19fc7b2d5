import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

export interface EncoderProcess {
  child: ChildProcess;
  /** The `url` field of the line it was waited for (a push encoder's address; empty for a pull worker). */
  url: string;
  /** Everything it has written to stdout (JSON log lines) so far. */
  output(): string;
}

/**
 * `npm run encoder` for real, as its own process (node with tsx's loader, so that a SIGKILL reaches
 * it): resolves once it logs `ready` ("encoder is listening" for push, "pull worker is leasing
 * batches" for pull), or rejects with its stderr if it exits first.
 */
export async function startEncoderProcess(env: Record<string, string>, ready = 'encoder is listening'): Promise<EncoderProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/encoder.ts'], {
    cwd: ROOT,
    env: { ...process.env, ENCODER_PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let out = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.includes(ready));
      if (line) resolve((JSON.parse(line) as { url?: string }).url ?? '');
    });
    child.once('exit', (code) => reject(new Error(`encoder exited (${code}): ${stderr}`)));
  });
  return { child, url, output: () => out };
}
