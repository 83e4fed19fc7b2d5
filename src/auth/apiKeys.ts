import { createHash, randomBytes } from 'node:crypto';
import type { ApiKeyRepository } from '../db/repositories';
import { LruCache } from '../util/lru';
import { SCOPES, type Principal, type Scope } from './principal';

const KEY_PREFIX = 'isk_';
const CACHE_TTL_MS = 10_000;
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

/** API keys stored hashed in Postgres; verification is cached briefly so revocation applies within seconds. */
export class ApiKeyService {
  private readonly cache = new LruCache<string, { principal: Principal | null; at: number }>(10_000);
  private readonly touched = new Map<string, number>();

  constructor(private readonly keys: ApiKeyRepository) {}

  async create(name: string, owner: string | null, scopes: Scope[]): Promise<CreatedKey> {
    if (scopes.length === 0 || scopes.some((s) => !SCOPES.includes(s))) throw new Error(`scopes must be some of: ${SCOPES.join(', ')}`);
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

  async verify(key: string): Promise<Principal | null> {
    if (!key.startsWith(KEY_PREFIX) || key.length > 200) return null;
    const hash = hashKey(key);
    const hit = this.cache.get(hash);
    if (hit && Date.now() - hit.at < CACHE_TTL_MS) return hit.principal;
    const row = await this.keys.findByHash(hash);
    const principal =
      row && !row.revokedAt ? { keyId: row.id, owner: row.owner, scopes: new Set(row.scopes.filter((s): s is Scope => SCOPES.includes(s as Scope))) } : null;
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
