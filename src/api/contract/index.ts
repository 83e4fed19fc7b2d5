import { duplicateRoutes } from './duplicates';
import { healthRoutes } from './health';
import { imageRoutes } from './images';
import { ingestRoutes } from './ingest';
import { operationRoutes } from './operations';
import type { RouteSpec } from './route';
import { searchRoutes } from './search';
import { settingsRoutes } from './settings';
import { webhookRoutes } from './webhooks';

/** Every route of the API, by name: served, documented and called from these declarations alone. */
export const API_ROUTES = {
  ...searchRoutes,
  ...imageRoutes,
  ...settingsRoutes,
  ...duplicateRoutes,
  ...webhookRoutes,
  ...ingestRoutes,
  ...operationRoutes,
  ...healthRoutes,
} as const satisfies Record<string, RouteSpec>;

export type ApiRoutes = typeof API_ROUTES;
export type RouteName = keyof ApiRoutes;
export type { Access, RouteSpec, ResponseContract } from './route';
export { errorCodesOf, expressPath, resolveSchema } from './route';
