import { rm } from 'node:fs/promises';
import path from 'node:path';
import { makeTestPack } from '../scripts/test-pack/make';
import { makeArchPack } from './archPack';
import { startServices, type ServiceHooks, type Services } from '../src/cli/services';
import { loadConfig } from '../src/config/env';
import { startLocalPostgres, tempDirForCluster, type LocalPostgres } from '../src/db/localPostgres';
import { createLogger } from '../src/util/logger';

export interface BenchPack {
  dir: string;
  /** Stated next to every figure measured with it. */
  label: string;
}

export interface Harness {
  root: string;
  /** MODEL_DIR when given; else the ViT-B/16 architecture packs, fp32 and int8 (timings), and the test pack. */
  packs: BenchPack[];
  databaseUrl: string;
  start(pack: BenchPack, env?: Record<string, string>, hooks?: ServiceHooks): Promise<Services>;
  close(): Promise<void>;
}

/** A size or count for a bench, from the environment. */
export const envNumber = (name: string, def: number): number => Number(process.env[name] ?? def);

/**
 * A standalone bench (`npm run bench:…`): `measure` gets a throwaway harness and the time it started;
 * the harness is removed however it ends, and a failure exits non-zero.
 */
export function runStandaloneBench(measure: (h: Harness, started: string) => Promise<void>): void {
  void (async () => {
    const h = await createHarness();
    try {
      await measure(h, new Date().toISOString());
    } finally {
      await h.close();
    }
  })().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}

/**
 * A throwaway environment for benchmarks: its own PostgreSQL cluster (or DATABASE_URL), data
 * dirs, and the real pack from MODEL_DIR when given, else the generated test pack.
 */
export async function createHarness(): Promise<Harness> {
  const root = await tempDirForCluster('imagesearch-bench-');
  let pg: LocalPostgres | null = null;
  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    pg = await startLocalPostgres({ dir: path.join(root, 'postgres') });
    databaseUrl = pg.url;
  }
  const packs: BenchPack[] = process.env.MODEL_DIR
    ? [{ dir: path.resolve(process.env.MODEL_DIR), label: `model pack at ${process.env.MODEL_DIR}` }]
    : [
        { dir: await makeArchPack(path.join(root, 'arch-fp32'), 'fp32'), label: 'ViT-B/16 architecture pack, fp32 (random weights)' },
        { dir: await makeArchPack(path.join(root, 'arch-int8'), 'int8'), label: 'ViT-B/16 architecture pack, int8 (random weights)' },
        { dir: (await makeTestPack(path.join(root, 'test-pack')), path.join(root, 'test-pack')), label: 'generated test pack (tiny)' },
      ];
  let runs = 0;
  return {
    root,
    packs,
    databaseUrl,
    start: async (pack, env = {}, hooks = {}) => {
      const dataDir = path.join(root, `data-${runs++}`);
      const config = loadConfig({
        ...process.env,
        DATABASE_URL: databaseUrl,
        DATA_DIR: dataDir,
        MODEL_DIR: pack.dir,
        MODEL_VERIFY_CHECKSUMS: 'false',
        INGEST_ROOTS: root,
        LOG_LEVEL: 'silent',
        ...env,
      });
      return startServices(config, createLogger('silent'), hooks);
    },
    close: async () => {
      await pg?.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}
