import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';
import { npmPostgresBin, startLocalPostgres } from '../../src/db/localPostgres';
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
