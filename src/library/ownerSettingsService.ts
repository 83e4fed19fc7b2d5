import type { OwnerSettingsRepository } from '../db/repositories';

/** An owner's settings as the API shows them: what it set (null: nothing) and what applies. */
export interface OwnerSettings {
  owner: string;
  timeZone: string | null;
  effectiveTimeZone: string;
}

/**
 * Per-owner settings. The time zone decides what 昨天 or 上个月 in the owner's queries means: a family in
 * Vancouver shares a service with one in Shanghai. A request's own `timeZone` still wins.
 */
export class OwnerSettingsService {
  constructor(
    private readonly repo: OwnerSettingsRepository,
    private readonly defaultTimeZone: string,
  ) {}

  async get(owner: string): Promise<OwnerSettings> {
    return this.shown(owner, (await this.repo.find(owner))?.timeZone ?? null);
  }

  /** Sets (or, with null, clears) the owner's time zone; fields left out stay as they are. */
  async update(owner: string, patch: { timeZone?: string | null | undefined }): Promise<OwnerSettings> {
    if (patch.timeZone === undefined) return this.get(owner);
    return this.shown(owner, (await this.repo.setTimeZone(owner, patch.timeZone)).timeZone);
  }

  /** The zone an owner's queries are read in; with no owner (an operator searching every library), the default. */
  async timeZone(owner: string | undefined): Promise<string> {
    if (owner === undefined) return this.defaultTimeZone;
    return (await this.repo.find(owner))?.timeZone ?? this.defaultTimeZone;
  }

  private shown(owner: string, timeZone: string | null): OwnerSettings {
    return { owner, timeZone, effectiveTimeZone: timeZone ?? this.defaultTimeZone };
  }
}
