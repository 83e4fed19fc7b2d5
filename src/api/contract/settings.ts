import { ownerQuerySchema, settingsPatchSchema } from '../schemas/requests';
import { ownerSettingsSchema } from '../schemas/responses';
import { routes } from './route';

/** A tenant key reads and changes its own owner's settings; an operator names the owner. */
const own = (scope: 'search' | 'ingest') => ({ caller: 'owner', scope, owner: { from: 'query', required: true } }) as const;

export const settingsRoutes = routes({
  getSettings: {
    at: 'GET /v1/settings',
    summary: "An owner's settings: the time zone its queries' dates (昨天, 上个月) are read in",
    access: own('search'),
    query: ownerQuerySchema,
    responses: { 200: ownerSettingsSchema },
  },
  updateSettings: {
    at: 'PATCH /v1/settings',
    summary: "Change an owner's settings: timeZone (IANA, e.g. America/Vancouver; null goes back to DEFAULT_TIME_ZONE)",
    access: own('ingest'),
    query: ownerQuerySchema,
    body: { schema: settingsPatchSchema, required: true },
    responses: { 200: ownerSettingsSchema },
  },
});
