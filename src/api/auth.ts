import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import type { ApiKeyService } from '../auth/apiKeys';
import { SCOPES, type Principal } from '../auth/principal';
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

/** Resolves the caller from its key: the operator's ADMIN_API_KEY, or a stored key; anything else is a 401. */
export class KeyAuthenticator {
  constructor(
    private readonly keys: ApiKeyService,
    private readonly adminKey: string | undefined,
  ) {}

  async principal(req: Request): Promise<Principal> {
    const key = presentedKey(req);
    if (!key) throw new AppError('unauthorized', 'an API key is required (Authorization: Bearer <key>)');
    const principal = this.adminKey && sameSecret(key, this.adminKey) ? OPERATOR : await this.keys.verify(key);
    if (!principal) throw new AppError('unauthorized', 'the API key is not valid');
    req.log?.setBindings?.({ key: principal.keyId });
    return principal;
  }
}

export function principalOf(res: Response): Principal {
  const p = res.locals.principal as Principal | undefined;
  if (!p) throw new AppError('unauthorized', 'not authenticated');
  return p;
}
