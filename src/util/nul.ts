/*
 * PostgreSQL cannot store U+0000 in text, so a NUL in any field would surface as a 500 from whichever
 * query first met it; no name, query or album of a photo library needs one. Requests are refused here.
 */

export const NUL_MESSAGE = 'contains a NUL character (U+0000), which no field accepts';

/** Where in `value` a string holds U+0000, as a path from `at` (`body.filters.album`), or null. */
export function nulAt(value: unknown, at: string): string | null {
  if (typeof value === 'string') return value.includes('\0') ? at : null;
  if (value === null || typeof value !== 'object') return null;
  for (const [k, v] of Object.entries(value)) {
    const found = nulAt(v, Array.isArray(value) ? `${at}[${k}]` : `${at}.${k}`);
    if (found) return found;
  }
  return null;
}
