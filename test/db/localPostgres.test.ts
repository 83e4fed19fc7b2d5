import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { startLocalPostgres } from '../../src/db/localPostgres';
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
