import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { migrate } from '../../src/db/migrate';
import { createDb, type Db } from '../../src/db/prisma';
import { testEnv } from './env';

export interface TestDatabase {
  url: string;
  db: Db;
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: testEnv('TEST_PG_URL') });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** A fresh, migrated database in the run's cluster, so suites never see each other's rows. */
export async function createTestDatabase(migrated = true): Promise<TestDatabase> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = testEnv('TEST_PG_URL').replace(/\/[^/]+$/, `/${name}`);
  if (migrated) await migrate(url);
  const db = createDb(url, 4);
  return {
    url,
    db,
    drop: async () => {
      await db.$disconnect();
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
