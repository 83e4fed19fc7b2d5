import type { ApiKey } from '../generated/client';
import type { Db } from '../prisma';

export type ApiKeyRow = ApiKey;

/** API keys, stored by the hash of the secret. */
export class ApiKeyRepository {
  constructor(private readonly db: Db) {}

  create(key: Pick<ApiKeyRow, 'name' | 'prefix' | 'hash' | 'owner' | 'scopes'>): Promise<ApiKeyRow> {
    return this.db.apiKey.create({ data: key });
  }

  listOldestFirst(): Promise<ApiKeyRow[]> {
    return this.db.apiKey.findMany({ orderBy: { createdAt: 'asc' } });
  }

  /** Revokes the live key with this id or prefix; returns how many were revoked. */
  async revoke(by: { id: string } | { prefix: string }): Promise<number> {
    return (await this.db.apiKey.updateMany({ where: { ...by, revokedAt: null }, data: { revokedAt: new Date() } })).count;
  }

  async exists(id: string): Promise<boolean> {
    return (await this.db.apiKey.count({ where: { id } })) > 0;
  }

  /** Removes these scopes from every key pinned to an owner; returns the keys changed and what each lost. */
  async removeScopesFromOwnerKeys(scopes: readonly string[]): Promise<{ id: string; prefix: string; owner: string; removed: string[] }[]> {
    return this.db.$transaction(async (tx) => {
      const rows = await tx.apiKey.findMany({ where: { owner: { not: null }, scopes: { hasSome: [...scopes] } } });
      for (const r of rows) await tx.apiKey.update({ where: { id: r.id }, data: { scopes: r.scopes.filter((s) => !scopes.includes(s)) } });
      return rows.map((r) => ({ id: r.id, prefix: r.prefix, owner: r.owner!, removed: r.scopes.filter((s) => scopes.includes(s)) }));
    });
  }

  findByHash(hash: string): Promise<ApiKeyRow | null> {
    return this.db.apiKey.findUnique({ where: { hash } });
  }

  async touchLastUsed(id: string): Promise<void> {
    await this.db.apiKey.update({ where: { id }, data: { lastUsedAt: new Date() } });
  }
}
