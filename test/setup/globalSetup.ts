import path from 'node:path';
import { startLocalPostgres, tempDirForCluster } from '../../src/db/localPostgres';
import { makeTestPack } from '../../scripts/test-pack/make';
import { makeTestCaptioner } from '../../scripts/test-pack/makeCaptioner';

/** One Postgres cluster and one generated test pack for the whole run; suites make their own databases. */
export default async function globalSetup(): Promise<void> {
  const root = await tempDirForCluster('imagesearch-test-');
  const pg = await startLocalPostgres({ dir: path.join(root, 'postgres'), database: 'postgres' });
  const modelDir = path.join(root, 'test-pack');
  await makeTestPack(modelDir);
  const captionerDir = path.join(root, 'test-captioner');
  await makeTestCaptioner(captionerDir);
  process.env.TEST_CAPTIONER_DIR = captionerDir;
  process.env.TEST_ROOT = root;
  process.env.TEST_PG_URL = pg.url;
  process.env.TEST_MODEL_DIR = modelDir;
  (globalThis as { __pg?: typeof pg }).__pg = pg;
}
