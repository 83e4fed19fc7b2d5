import { timingSafeEqual, createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import { HttpError } from './errors';

/** The key from `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
export function presentedKey(header: (name: string) => string | undefined): string | undefined {
  const auth = header('authorization');
  if (auth?.toLowerCase().startsWith('bearer ')) return auth.slice(7).trim();
  return header('x-api-key')?.trim() || undefined;
}

function sameSecret(a: string, b: string): boolean {
  // Hash first so the comparison is constant-time whatever the lengths.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

export function requireAdminKey(adminKey: string | undefined): RequestHandler {
  return (req, _res, next) => {
    if (!adminKey) return next(new HttpError(503, 'admin_disabled', 'admin endpoints are disabled: set ADMIN_API_KEY'));
    const key = presentedKey((n) => req.get(n));
    if (!key) return next(new HttpError(401, 'unauthorized', 'an admin API key is required (Authorization: Bearer <key>)'));
    if (!sameSecret(key, adminKey)) return next(new HttpError(403, 'forbidden', 'the API key is not valid for admin endpoints'));
    next();
  };
}
