import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { makeTestPack } from '../../scripts/test-pack/make';
import { colourImage } from '../helpers/images';
import { freePort, killPostgres, ServiceProcess } from '../helpers/serviceProcess';

const ROOT = path.resolve(__dirname, '../..');
const run = promisify(execFile);

/** The commands of the README's curl blocks, one per entry, continuation lines joined, comments left out. */
export function readmeCommands(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => b.includes('curl '));
  return blocks.flatMap((block) =>
    block
      .replace(/\\\n\s*/g, '')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#')),
  );
}

/**
 * The README's examples, run as a new user would run them after `npm start`: the same shell commands, against the
 * service process on its embedded defaults, in a folder holding the files they name. `<jobId>` and `<id>` are filled
 * from earlier answers, as the README says; a job is waited for before the next command, as a person would.
 */
describe('the README is a front door whose examples work', () => {
  let dir: string;
  let service: ServiceProcess;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imagesearch-readme-'));
    await chmod(dir, 0o755);
    await makeTestPack(path.join(dir, 'test-pack'));
    const inbox = path.join(dir, 'data', 'inbox');
    await mkdir(path.join(inbox, '2024-春节'), { recursive: true });
    await writeFile(path.join(inbox, '2024-春节', '红包.jpg'), await colourImage('red', { format: 'jpeg', seed: 1 }));
    await writeFile(path.join(dir, '海边.jpg'), await colourImage('blue', { format: 'jpeg', seed: 2 }));
    await writeFile(path.join(dir, '猫.png'), await colourImage('orange', { seed: 3 }));
    await writeFile(path.join(dir, '查询.jpg'), await colourImage('blue', { format: 'jpeg', seed: 4 }));
    const env = { DATA_DIR: path.join(dir, 'data'), INGEST_ROOTS: inbox, MODEL_DIR: path.join(dir, 'test-pack'), MODELS_AUTO_FETCH: 'false' };
    service = new ServiceProcess(env, await freePort(), path.join(dir, 'service.log'));
    await service.start();
  }, 120_000);
  afterAll(async () => {
    await service.stop();
    await killPostgres(path.join(dir, 'data', 'postgres'));
    await rm(dir, { recursive: true, force: true });
  });

  test('the README is under 250 lines and links every page of docs/, as CONTRIBUTING.md does', async () => {
    const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
    const contributing = await readFile(path.join(ROOT, 'CONTRIBUTING.md'), 'utf8');
    expect(readme.split('\n').length).toBeLessThan(250);
    const pages = (await import('node:fs')).readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md'));
    for (const page of pages) {
      expect({ page, readme: readme.includes(`docs/${page}`) }).toEqual({ page, readme: true });
      expect({ page, contributing: contributing.includes(`docs/${page}`) }).toEqual({ page, contributing: true });
    }
  });

  test('every curl example answers without an error', async () => {
    const commands = readmeCommands(await readFile(path.join(ROOT, 'README.md'), 'utf8'));
    expect(commands.filter((c) => c.startsWith('curl')).length).toBeGreaterThanOrEqual(12);
    const known: Record<string, string> = {};
    let exports = '';
    for (const command of commands) {
      if (command.startsWith('export ')) {
        exports += `${command}; `;
        continue;
      }
      const filled = command.replaceAll('localhost:8080', `127.0.0.1:${service.port}`).replace(/<(\w+)>/g, (whole, name: string) => known[name] ?? whole);
      expect({ command, placeholders: filled.match(/<\w+>/g) ?? [] }).toEqual({ command, placeholders: [] });
      const { stdout } = await run('bash', ['-c', `${exports}${filled}`], { cwd: dir, maxBuffer: 16 * 1024 * 1024 });
      if (filled.includes('-o thumb.jpg')) {
        expect((await readFile(path.join(dir, 'thumb.jpg'))).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
        continue;
      }
      const answer = JSON.parse(stdout) as { error?: unknown; jobId?: string; hits?: { id: string }[] };
      // An error answer is {"error":{"code","message"}}; a job's status has "error": null.
      expect({ command, error: answer.error ?? null }).toEqual({ command, error: null });
      if (answer.jobId) {
        known.jobId = answer.jobId;
        await waitForJob(answer.jobId, exports);
      }
      if (answer.hits?.[0]) known.id ??= answer.hits[0].id;
    }
    expect(known.id).toBeDefined();
  }, 180_000);

  async function waitForJob(jobId: string, exports: string): Promise<void> {
    for (let i = 0; i < 600; i++) {
      const { stdout } = await run('bash', ['-c', `${exports}curl -s 127.0.0.1:${service.port}/v1/admin/jobs/${jobId} -H "Authorization: Bearer $KEY"`], {
        cwd: dir,
      });
      const state = (JSON.parse(stdout) as { state: string }).state;
      if (state !== 'queued' && state !== 'running') return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`job ${jobId} did not finish`);
  }
});
