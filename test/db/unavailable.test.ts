import { Client } from 'pg';
import { createDb, type Db } from '../../src/db/prisma';
import { asDatabaseUnavailable, DatabaseUnavailable, isDatabaseUnavailable, outageReason } from '../../src/db/unavailable';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { startTcpProxy, throughProxy, type TcpProxy } from '../helpers/tcpProxy';

/** The errors real outages give Prisma through its pg adapter, told apart from the errors of a bad statement. */
describe('isDatabaseUnavailable', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let db: Db;
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => new Error('it answered'),
      (e: unknown) => e,
    );

  beforeAll(async () => {
    database = await createTestDatabase();
    const pg = new URL(database.url);
    proxy = await startTcpProxy({ host: pg.hostname, port: Number(pg.port) });
    db = createDb(throughProxy(database.url, proxy), 2);
  });
  afterAll(async () => {
    await db.$disconnect();
    await proxy.close();
    await database.drop();
  });

  test('a server that refuses connections', async () => {
    await proxy.cut();
    try {
      const e = await failure(db.image.count());
      expect(isDatabaseUnavailable(e)).toBe(true);
      expect(outageReason(e)).toMatch(/^database unavailable: /);
      expect(outageReason(e)).not.toContain('\n');
    } finally {
      await proxy.restore();
    }
  });

  test('a connection dropped under a statement (a failover, a network reset)', async () => {
    const sleeping = failure(db.$queryRawUnsafe('SELECT pg_sleep(5)'));
    await new Promise((r) => setTimeout(r, 300));
    proxy.drop();
    expect(isDatabaseUnavailable(await sleeping)).toBe(true);
    expect(await db.image.count()).toBe(0);
  });

  test('a statement the server ended as a shutdown does (57P01)', async () => {
    const admin = new Client({ connectionString: database.url });
    await admin.connect();
    try {
      const sleeping = failure(db.$queryRawUnsafe('SELECT pg_sleep(5)'));
      await new Promise((r) => setTimeout(r, 300));
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`);
      expect(isDatabaseUnavailable(await sleeping)).toBe(true);
    } finally {
      await admin.end();
    }
  });

  test('not for a bad statement, a constraint or anything else', async () => {
    expect(isDatabaseUnavailable(await failure(db.$queryRawUnsafe('SELEC 1')))).toBe(false);
    expect(isDatabaseUnavailable(await failure(db.$queryRawUnsafe('SELECT 1/0')))).toBe(false);
    await db.$executeRawUnsafe('CREATE TABLE once (x int PRIMARY KEY)');
    await db.$executeRawUnsafe('INSERT INTO once VALUES (1)');
    expect(isDatabaseUnavailable(await failure(db.$executeRawUnsafe('INSERT INTO once VALUES (1)')))).toBe(false);
    for (const other of [new Error('boom'), null, undefined, 'text', { code: 42 }]) expect(isDatabaseUnavailable(other)).toBe(false);
  });

  test('asDatabaseUnavailable makes an outage the 503 clients retry, and leaves other errors as they were', async () => {
    await proxy.cut();
    try {
      const e = asDatabaseUnavailable(await failure(db.image.count()));
      expect(e).toBeInstanceOf(DatabaseUnavailable);
      expect(e).toMatchObject({ status: 503, code: 'database_unavailable' });
      const other = new Error('boom');
      expect(asDatabaseUnavailable(other)).toBe(other);
    } finally {
      await proxy.restore();
    }
  });
});
