import { createHash, randomBytes } from 'node:crypto';
import type { ApiKeyRepository } from '../db/repositories';
import { LruCache } from '../util/lru';
import { AppError } from '../errors/appError';
import { OPERATOR_SCOPES, SCOPES, TENANT_SCOPES, type Principal, type Scope } from './principal';

const KEY_PREFIX = 'isk_';
const TOUCH_EVERY_MS = 60_000;

const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

export interface CreatedKey {
  id: string;
  /** Shown once; only its hash is stored. */
  key: string;
  prefix: string;
}

export interface KeyInfo {
  id: string;
  name: string;
  prefix: string;
  owner: string | null;
  scopes: string[];
  createdAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

/** Operator powers a key of an owner carries (keys made before they were refused), none for other keys. */
export const operatorScopesOfTenant = (owner: string | null, scopes: readonly string[]): string[] =>
  owner === null ? [] : scopes.filter((s) => (OPERATOR_SCOPES as readonly string[]).includes(s));

/**
 * API keys stored hashed in Postgres. A key of an owner (a tenant) holds search and ingest at most;
 * admin and worker are operator powers. Verification is cached for `cacheMs`: a key revoked through
 * this instance is refused at once, one revoked elsewhere (another instance, the keys CLI) within `cacheMs`.
 */
export class ApiKeyService {
  private readonly cache = new LruCache<string, { principal: Principal | null; at: number }>(10_000);
  private readonly touched = new LruCache<string, number>(10_000);

  constructor(
    private readonly keys: ApiKeyRepository,
    private readonly cacheMs = 10_000,
  ) {}

  async create(name: string, owner: string | null, scopes: Scope[]): Promise<CreatedKey> {
    if (scopes.length === 0 || scopes.some((s) => !SCOPES.includes(s))) throw new AppError('validation_error', `scopes must be some of: ${SCOPES.join(', ')}`);
    const operatorOnly = operatorScopesOfTenant(owner, scopes);
    if (operatorOnly.length)
      throw new AppError(
        'validation_error',
        `${operatorOnly.join(', ')} ${operatorOnly.length > 1 ? 'are' : 'is'} for operator keys only; a key of an owner holds ${TENANT_SCOPES.join(', ')}`,
      );
    const secret = randomBytes(32).toString('base64url');
    const key = `${KEY_PREFIX}${secret}`;
    const prefix = key.slice(0, KEY_PREFIX.length + 8);
    const row = await this.keys.create({ name, prefix, hash: hashKey(key), owner, scopes });
    return { id: row.id, key, prefix };
  }

  async list(): Promise<KeyInfo[]> {
    const rows = await this.keys.listOldestFirst();
    return rows.map(({ hash: _hash, ...info }) => info);
  }

  /** Revokes by id or prefix; returns how many keys were revoked. */
  async revoke(idOrPrefix: string): Promise<number> {
    const isUuid = /^[0-9a-f-]{36}$/i.test(idOrPrefix);
    const revoked = await this.keys.revoke(isUuid ? { id: idOrPrefix } : { prefix: idOrPrefix });
    this.cache.clear();
    return revoked;
  }

  async revokeById(id: string): Promise<'revoked' | 'already' | 'unknown'> {
    if ((await this.revoke(id)) > 0) return 'revoked';
    return (await this.keys.exists(id)) ? 'already' : 'unknown';
  }

  /**
   * Takes admin and worker away from keys of owners made before they were refused; returns the keys
   * changed, for the log. Verification drops them too, so a key narrowed by nobody still has no operator power.
   */
  async narrowTenantKeys(): Promise<{ id: string; prefix: string; owner: string; removed: string[] }[]> {
    const changed = await this.keys.removeScopesFromOwnerKeys(OPERATOR_SCOPES);
    this.cache.clear();
    return changed;
  }

  async verify(key: string): Promise<Principal | null> {
    if (!key.startsWith(KEY_PREFIX) || key.length > 200) return null;
    const hash = hashKey(key);
    const hit = this.cache.get(hash);
    if (hit && Date.now() - hit.at < this.cacheMs) return hit.principal;
    const row = await this.keys.findByHash(hash);
    const held = (s: string): s is Scope => SCOPES.includes(s as Scope) && !operatorScopesOfTenant(row!.owner, [s]).length;
    const principal = row && !row.revokedAt ? { keyId: row.id, owner: row.owner, scopes: new Set(row.scopes.filter(held)) } : null;
    this.cache.set(hash, { principal, at: Date.now() });
    if (principal) this.touch(principal.keyId);
    return principal;
  }

  /** lastUsedAt at most once a minute per key: a write per request would be waste. */
  private touch(id: string): void {
    const last = this.touched.get(id) ?? 0;
    if (Date.now() - last < TOUCH_EVERY_MS) return;
    this.touched.set(id, Date.now());
    void this.keys.touchLastUsed(id).catch(() => undefined);
  }
}
