import type { Db } from '../prisma';

export interface OwnerSettingsRow {
  owner: string;
  timeZone: string | null;
}

/** Per-owner settings, one row per owner that changed any. */
export class OwnerSettingsRepository {
  constructor(private readonly db: Db) {}

  async find(owner: string): Promise<OwnerSettingsRow | null> {
    return this.db.ownerSettings.findUnique({ where: { owner }, select: { owner: true, timeZone: true } });
  }

  async setTimeZone(owner: string, timeZone: string | null): Promise<OwnerSettingsRow> {
    return this.db.ownerSettings.upsert({
      where: { owner },
      create: { owner, timeZone },
      update: { timeZone },
      select: { owner: true, timeZone: true },
    });
  }

  /** An owner's purge takes its settings too. */
  async removeOwner(owner: string): Promise<number> {
    return (await this.db.ownerSettings.deleteMany({ where: { owner } })).count;
  }
}
