/**
 * The one door from command-line tools (src/cli, bench/) to the composition root: the services built from
 * the environment's configuration, and closed however the tool ends.
 */
import { openDatabase } from '../app/database';
import { startServices, type ServiceHooks, type Services } from '../app/services';
import { loadConfig, type Config } from '../config/env';
import { createLogger } from '../util/logger';

export type { Config, ServiceHooks, Services };
export { openDatabase, startServices };

/** The service's configuration from the environment; tools log warnings only unless LOG_LEVEL says otherwise. */
export function cliConfig(overrides: Record<string, string | undefined> = {}): Config {
  return loadConfig({ ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', ...overrides });
}

/** Runs `fn` with the services of `config`, and closes them after. */
export async function withServices<T>(config: Config, fn: (s: Services) => Promise<T>): Promise<T> {
  const services = await startServices(config, createLogger(config.LOG_LEVEL, config.LOG_FORMAT));
  try {
    return await fn(services);
  } finally {
    await services.close();
  }
}
