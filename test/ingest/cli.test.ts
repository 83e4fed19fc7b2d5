import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { createTestDatabase } from '../helpers/database';
import { writeColourLibrary } from '../helpers/files';
import { tempDir, testEnv } from '../helpers/env';
import { startTestService } from '../helpers/service';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');

describe('ingest CLI', () => {
  test('ingests a folder, reports a summary, and a re-run skips everything', async () => {
    const database = await createTestDatabase();
    const dataDir = await tempDir('cli');
    const folder = await tempDir('photos');
    await writeColourLibrary(folder);
    const env = { ...process.env, DATABASE_URL: database.url, DATA_DIR: dataDir, MODEL_DIR: testEnv('TEST_MODEL_DIR'), LOG_LEVEL: 'silent' };
    const cli = () =>
      run(path.join(ROOT, 'node_modules/.bin/tsx'), ['src/cli/ingest.ts', folder, '--owner', 'cli-user', '--album', '相册', '--no-progress'], {
        cwd: ROOT,
        env,
      });

    const first = JSON.parse((await cli()).stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(first).toMatchObject({ state: 'completed', total: 8, done: 8, skipped: 0, failed: 0 });
    const second = JSON.parse((await cli()).stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(second).toMatchObject({ state: 'completed', total: 8, done: 0, skipped: 8 });

    const svc = await startTestService({}, { database, dataDir });
    try {
      const hits = (
        await svc
          .api()
          .post('/v1/search/text')
          .send({ query: '绿', filters: { owner: 'cli-user', album: '相册' }, limit: 1 })
      ).body.hits;
      expect(hits[0].source).toBe(path.join(folder, 'nested', 'deeper', 'green.jpg'));
    } finally {
      await svc.close();
      await database.drop();
    }
  });

  test('bad usage exits with 2 and says how to use it', async () => {
    await expect(run(path.join(ROOT, 'node_modules/.bin/tsx'), ['src/cli/ingest.ts'], { cwd: ROOT })).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/usage/),
    });
  });
});
