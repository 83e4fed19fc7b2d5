import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Express } from 'express';
import request from 'supertest';
import { createApp } from '../../src/api/app';
import { startServices, type ServiceHooks, type Services } from '../../src/app/services';
import type { Db } from '../../src/db/prisma';
import { loadConfig } from '../../src/config/env';
import { createLogger } from '../../src/util/logger';
import { createTestDatabase, type TestDatabase } from './database';
import { tempDir, testEnv } from './env';
import { writeColourLibrary } from './files';

export const ADMIN_KEY = 'test-admin-key';

/** The services under test, with a Prisma client on the same database for tests to look inside. */
export type TestServices = Services & { db: Db };

export interface TestService {
  services: TestServices;
  app: Express;
  dataDir: string;
  inbox: string;
  database: TestDatabase;
  /** Requests with an API key (the operator's admin key unless another, or null for none, is given). */
  api: (key?: string | null) => {
    get(path: string): request.Test;
    post(path: string): request.Test;
    patch(path: string): request.Test;
    delete(path: string): request.Test;
  };
  close(): Promise<void>;
}

/** The real service (real Postgres, ONNX runtime and HNSW index) on a fresh database and data dir. */
export async function startTestService(
  env: Record<string, string> = {},
  reuse?: { database: TestDatabase; dataDir: string },
  hooks: ServiceHooks = {},
): Promise<TestService> {
  const database = reuse?.database ?? (await createTestDatabase());
  const dataDir = reuse?.dataDir ?? (await tempDir('svc'));
  const inbox = path.join(dataDir, 'inbox');
  await mkdir(inbox, { recursive: true });
  const config = loadConfig({
    DATA_DIR: dataDir,
    DATABASE_URL: database.url,
    MODEL_DIR: testEnv('TEST_MODEL_DIR'),
    ADMIN_API_KEY: ADMIN_KEY,
    INGEST_ROOTS: inbox,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...env,
  });
  const services = Object.assign(await startServices(config, createLogger(config.LOG_LEVEL), hooks), { db: database.db });
  await services.startBackground();
  const app = createApp(services, { version: 'test' });
  return {
    services,
    app,
    dataDir,
    inbox,
    database,
    api: (key: string | null = ADMIN_KEY) => {
      const withKey = (t: request.Test) => (key ? t.set('authorization', `Bearer ${key}`) : t);
      return {
        get: (p: string) => withKey(request(app).get(p)),
        post: (p: string) => withKey(request(app).post(p)),
        patch: (p: string) => withKey(request(app).patch(p)),
        delete: (p: string) => withKey(request(app).delete(p)),
      };
    },
    close: async () => {
      await services.close();
    },
  };
}

/** A service on a database and data folder that a later start can reuse (a restart), with the colour library ingested for alice. */
export async function startWithColourLibrary(name: string, env: Record<string, string> = {}) {
  const database = await createTestDatabase();
  const dataDir = await tempDir(name);
  const svc = await startTestService(env, { database, dataDir });
  await writeColourLibrary(svc.inbox);
  await svc.services.ingest.runJob(await svc.services.ingest.createFolderJob('alice', '.'));
  return { database, dataDir, svc };
}

export async function waitForJob(svc: TestService, jobId: string, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const status = await svc.services.ingest.status(jobId);
    if (status && (status.state === 'completed' || status.state === 'failed' || status.state === 'cancelled')) {
      // OCR reads a job's images after their vectors are stored: tests see both done.
      await svc.services.ocr?.idle();
      await svc.services.stages.idle();
      return (await svc.services.ingest.status(jobId))!;
    }
    if (Date.now() > until) throw new Error(`job ${jobId} did not finish: ${JSON.stringify(status)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
