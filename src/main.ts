import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { createApp } from './api/app';
import { startServices } from './app/services';
import { ConfigError, loadConfig } from './config/env';
import { activePackTarget } from './models/install/installPack';
import { createLogger } from './util/logger';
import { projectRoot } from './util/projectRoot';

const VERSION = (JSON.parse(readFileSync(path.join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;

/** A random operator key kept in DATA_DIR (mode 0600), so a first start needs no set-up yet is never open. */
async function ensureSecretFile(file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    const key = randomBytes(32).toString('base64url');
    await writeFile(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
    return key;
  }
}

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL, config.LOG_FORMAT);
  await mkdir(config.dataDir, { recursive: true });
  if (!config.ADMIN_API_KEY) {
    const file = path.join(config.dataDir, 'admin-api-key');
    config.ADMIN_API_KEY = await ensureSecretFile(file);
    log.info({ file }, 'no ADMIN_API_KEY set: using the operator key stored in this file');
  }
  for (const root of config.ingestRoots) await mkdir(root, { recursive: true }).catch(() => undefined);
  const services = await startServices(config, log);
  services.ingest.warm();
  const warming = performance.now();
  await services.search.warm(services.searchMode).then(
    () => log.info({ mode: services.searchMode, ms: Math.round(performance.now() - warming) }, 'search warmed up'),
    // Only the first search pays for it then: no reason not to start.
    (e: Error) => log.warn({ err: e.message }, 'warming up search failed'),
  );
  let accepting = true;
  const app = createApp(services, { version: VERSION, accepting: () => accepting });
  const server = app.listen(config.PORT, config.HOST);
  // Socket-level backstops behind the per-request deadline.
  server.requestTimeout = config.REQUEST_TIMEOUT_MS + 5000;
  server.headersTimeout = Math.min(60_000, server.requestTimeout);
  // Handled from here on, so that a stop asked for as soon as the service answers is a clean one (not the default exit).
  let startup: Promise<void> = Promise.resolve();
  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    accepting = false;
    log.info({ signal }, 'shutting down: draining requests and ingest');
    // close() stops new connections and waits for in-flight requests; idle keep-alive sockets are closed.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await closed;
    // A stop that came while the service was still starting (right after it said ready) lets the start finish first.
    await startup.catch(() => undefined);
    await services.close();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  startup = (async () => {
    await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
    const { port } = server.address() as AddressInfo;
    log.info({ url: `http://${config.HOST}:${port}`, store: services.store.kind, pack: services.pack.key }, 'imagesearch is listening');
    await services.startBackground();
    const resumed = await services.ingest.resumeUnfinished();
    if (resumed.length) log.info({ jobs: resumed }, 'resumed unfinished ingest jobs');
    const finished = await services.library.finishInterruptedChanges();
    if (finished) log.info({ images: finished }, 'finished changes a stop interrupted: the search filters have them');
    const purged = await services.deletion.purgeInterrupted();
    if (purged.length) log.info({ images: purged.length }, 'finished deletes a stop interrupted: vectors and files removed');
    const reembedded = await services.texts.reindexStale();
    if (reembedded) log.info({ texts: reembedded }, 're-embedded texts for the current model pack');
    if (config.followsActivePack) {
      // No pack installed yet: the test pack serves while the real one is fetched, then the service switches to it.
      if (config.MODELS_AUTO_FETCH && services.pack.manifest.testOnly && !(await activePackTarget(config.modelsDir))) services.provisioning.fetchInBackground();
      services.provisioning.watchActiveLink();
    }
  })();
  await startup;
}

main().catch((e: unknown) => {
  if (e instanceof ConfigError) console.error(e.message);
  else console.error(e);
  process.exit(1);
});
