import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { ApiKeyService } from '../auth/apiKeys';
import { effectiveOwner, SCOPES, type Principal, type Scope } from '../auth/principal';
import { AppError } from '../errors/appError';

/** The key from `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
export function presentedKey(req: Request): string | undefined {
  const auth = req.get('authorization');
  if (auth?.toLowerCase().startsWith('bearer ')) return auth.slice(7).trim() || undefined;
  return req.get('x-api-key')?.trim() || undefined;
}

function sameSecret(a: string, b: string): boolean {
  // Hash first so the comparison is constant-time whatever the lengths.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

const OPERATOR: Principal = { keyId: 'admin-api-key', owner: null, scopes: new Set(SCOPES) };

/** Resolves the caller from its key; requests without a valid key stop here with 401. */
export function authenticate(keys: ApiKeyService, adminKey: string | undefined): RequestHandler {
  return async (req, res, next) => {
    const key = presentedKey(req);
    if (!key) return next(new AppError(401, 'unauthorized', 'an API key is required (Authorization: Bearer <key>)'));
    const principal = adminKey && sameSecret(key, adminKey) ? OPERATOR : await keys.verify(key);
    if (!principal) return next(new AppError(401, 'unauthorized', 'the API key is not valid'));
    res.locals.principal = principal;
    req.log?.setBindings?.({ key: principal.keyId });
    next();
  };
}

export function principalOf(res: Response): Principal {
  const p = res.locals.principal as Principal | undefined;
  if (!p) throw new AppError(401, 'unauthorized', 'not authenticated');
  return p;
}

export function requireScope(scope: Scope): RequestHandler {
  return (_req, res, next) => {
    if (!principalOf(res).scopes.has(scope)) return next(new AppError(403, 'forbidden', `this API key lacks the "${scope}" scope`));
    next();
  };
}

/** See effectiveOwner: tenant keys are pinned to their owner. */
export function ownerFor(res: Response, requested: string | undefined): string | undefined {
  return effectiveOwner(principalOf(res), requested);
}
