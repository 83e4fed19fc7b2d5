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

  findByHash(hash: string): Promise<ApiKeyRow | null> {
    return this.db.apiKey.findUnique({ where: { hash } });
  }

  async touchLastUsed(id: string): Promise<void> {
    await this.db.apiKey.update({ where: { id }, data: { lastUsedAt: new Date() } });
  }
}
