import type { settingsRoutes } from '../contract/settings';
import type { ApiServices } from '../ports';
import type { Handlers } from '../router';

/** Per-owner settings; the router has pinned the owner (a tenant's own, or the one an operator named). */
export function settingsHandlers(settings: ApiServices['settings']): Handlers<typeof settingsRoutes> {
  return {
    getSettings: async ({ owner }) => settings.get(owner!),
    updateSettings: async ({ owner, body }) => settings.update(owner!, body),
  };
}
