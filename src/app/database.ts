import path from 'node:path';
import type { Config } from '../config/env';
import { startLocalPostgres, type LocalPostgres } from '../db/localPostgres';
import { superviseLocalPostgres } from '../db/localPostgresSupervisor';
import { migrate } from '../db/migrate';
import { openRepositories, type Repositories } from '../db/repositories';
import type { Logger } from '../util/logger';

export interface OpenDatabase {
  repos: Repositories;
  url: string;
  close(): Promise<void>;
}

/** Connects to DATABASE_URL, or starts (or joins) the local cluster under DATA_DIR; applies migrations. */
export async function openDatabase(config: Config, log?: Logger): Promise<OpenDatabase> {
  let pg: LocalPostgres | null = null;
  let url = config.DATABASE_URL;
  if (!url) {
    pg = await startLocalPostgres({ dir: path.join(config.dataDir, 'postgres') });
    url = pg.url;
    log?.info({ dataDir: pg.dataDir, joined: !pg.ownsServer }, 'using local PostgreSQL (set DATABASE_URL to use another)');
  }
  try {
    const migrations = await migrate(url);
    if (migrations.applied.length) log?.info({ applied: migrations.applied }, 'applied database migrations');
  } catch (e) {
    await pg?.stop();
    throw e;
  }
  const repos = openRepositories(url);
  const supervisor = pg && superviseLocalPostgres(pg, config.LOCAL_POSTGRES_CHECK_MS, log);
  return {
    repos,
    url,
    close: async () => {
      await supervisor?.stop();
      await repos.close();
      await pg?.stop();
    },
  };
}
