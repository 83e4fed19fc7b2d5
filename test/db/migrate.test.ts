import { cp, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';
import { DEFAULT_MIGRATIONS_DIR, migrate } from '../../src/db/migrate';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { tempDir } from '../helpers/env';

describe('migration runner', () => {
  let t: TestDatabase;
  beforeEach(async () => {
    t = await createTestDatabase(false);
  });
  afterEach(() => t.drop());

  test('applies each migration once and records it where Prisma looks', async () => {
    const first = await migrate(t.url);
    expect(first.applied.length).toBeGreaterThan(0);
    const second = await migrate(t.url);
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toEqual(first.applied);
    const c = new Client({ connectionString: t.url });
    await c.connect();
    const { rows } = await c.query<{ migration_name: string; checksum: string }>(
      'SELECT migration_name, checksum FROM "_prisma_migrations" ORDER BY migration_name',
    );
    await c.end();
    expect(rows.map((r) => r.migration_name)).toEqual(first.applied);
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.checksum))).toBe(true);
  });

  test('concurrent runners apply nothing twice', async () => {
    const results = await Promise.all([migrate(t.url), migrate(t.url), migrate(t.url)]);
    expect(results.flatMap((r) => r.applied).sort()).toEqual(results.find((r) => r.applied.length)!.applied.sort());
  });

  test('a failing migration is rolled back and not recorded; an edited one is detected', async () => {
    const dir = await tempDir('migrations');
    await cp(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
    await mkdir(path.join(dir, '99990101000000_broken'));
    await writeFile(path.join(dir, '99990101000000_broken', 'migration.sql'), 'CREATE TABLE ok_part (id int);\nSELECT no_such_column FROM images;');
    await expect(migrate(t.url, dir)).rejects.toThrow(/99990101000000_broken failed/);
    const c = new Client({ connectionString: t.url });
    await c.connect();
    const { rows } = await c.query("SELECT to_regclass('ok_part') AS t");
    await c.end();
    expect(rows[0].t).toBeNull();

    await writeFile(path.join(dir, '99990101000000_broken', 'migration.sql'), 'SELECT 1;');
    await migrate(t.url, dir);
    await writeFile(path.join(dir, '99990101000000_broken', 'migration.sql'), 'SELECT 2;');
    await expect(migrate(t.url, dir)).rejects.toThrow(/changed after it was applied/);
  });

  test('the Prisma client works against the migrated schema', async () => {
    await migrate(t.url);
    const image = await t.db.image.create({
      data: {
        id: '00000000-0000-4000-8000-000000000001',
        owner: 'alice',
        sha256: 'a'.repeat(64),
        sourceKind: 'upload',
        source: 'x.png',
        mime: 'image/png',
        width: 1,
        height: 1,
        bytes: 10,
        albums: ['trip'],
      },
    });
    expect(image.state).toBe('pending');
    await t.db.caption.create({ data: { imageId: image.id, model: 'm', text: '红色的花' } });
    const job = await t.db.ingestJob.create({ data: { owner: 'alice', kind: 'folder', items: { create: [{ source: '/a.png' }] } }, include: { items: true } });
    expect(job.items[0]!.state).toBe('pending');
    // One owner's external id names one image; the same bytes may be several (under different external ids).
    await t.db.image.update({ where: { id: image.id }, data: { externalId: 'asset-1' } });
    await expect(
      t.db.image.create({ data: { ...image, place: undefined, id: '00000000-0000-4000-8000-000000000002', externalId: 'asset-1' } }),
    ).rejects.toThrow();
    await t.db.image.create({ data: { ...image, place: undefined, id: '00000000-0000-4000-8000-000000000003', externalId: 'asset-2' } });
  });
});
