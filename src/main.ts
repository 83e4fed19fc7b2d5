import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { createApp } from './api/app';
import { startServices } from './app/services';
import { ConfigError, loadConfig } from './config/env';
import { createLogger } from './util/logger';
import { projectRoot } from './util/projectRoot';

const VERSION = (JSON.parse(readFileSync(path.join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL);
  await mkdir(config.dataDir, { recursive: true });
  for (const root of config.ingestRoots) await mkdir(root, { recursive: true }).catch(() => undefined);
  const services = await startServices(config, log);
  let accepting = true;
  const app = createApp(services, { version: VERSION, accepting: () => accepting });
  const server = app.listen(config.PORT, config.HOST);
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  const { port } = server.address() as AddressInfo;
  log.info({ url: `http://${config.HOST}:${port}`, store: services.store.kind, pack: services.pack.key }, 'imagesearch is listening');
  const resumed = await services.ingest.resumeUnfinished();
  if (resumed.length) log.info({ jobs: resumed }, 'resumed unfinished ingest jobs');
  const reembedded = await services.texts.reindexStale();
  if (reembedded) log.info({ texts: reembedded }, 're-embedded texts for the current model pack');

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
    await services.close();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((e: unknown) => {
  if (e instanceof ConfigError) console.error(e.message);
  else console.error(e);
  process.exit(1);
});
