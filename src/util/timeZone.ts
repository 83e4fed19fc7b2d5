import { z } from 'zod';

/** An IANA time zone name the runtime knows (Asia/Shanghai); shared by the configuration and the request schemas (and so the web page). */
export const timeZoneSchema = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'not a known IANA time zone (e.g. Asia/Shanghai)');
