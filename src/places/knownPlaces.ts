/** Where the place names come from: the repository. */
export interface PlaceNames {
  /** Every name (any level, either language) of the places an owner's visible photos were taken. */
  placeNamesOf(owner: string): Promise<string[]>;
  /** Whether any visible photo of anyone was taken there. */
  hasPlace(owner: undefined, place: string): Promise<boolean>;
}

/**
 * Whether an owner has photos taken at a place, for reading 北京的雪 as a place and a word. Asked for every
 * search whose words name a place, so it is answered from each owner's set of names, read at most once per
 * `ttlMs`: the direct question ("any photo of this owner whose places hold 北京?") is planned as a scan of the
 * whole table when the answer is no, 31 ms at 100 000 photos, because the planner expects to meet one soon.
 * This process's places stage forgets an owner when it places a photo; another instance's change shows within
 * `ttlMs`. Operator searches across every owner ask the database each time.
 */
export class KnownPlaces {
  private readonly byOwner = new Map<string, { names: Set<string>; at: number }>();
  /** Counts forgets, so that names read while one happened are used once but not kept. */
  private forgets = 0;

  constructor(
    private readonly source: PlaceNames,
    private readonly ttlMs = 60_000,
    private readonly maxOwners = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  async has(owner: string | undefined, place: string): Promise<boolean> {
    if (owner === undefined) return this.source.hasPlace(undefined, place);
    let known = this.byOwner.get(owner);
    if (!known || this.now() - known.at >= this.ttlMs) {
      const [at, forgets] = [this.now(), this.forgets];
      known = { names: new Set(await this.source.placeNamesOf(owner)), at };
      if (forgets !== this.forgets) return known.names.has(place);
      this.byOwner.delete(owner);
      // Oldest first in a Map's order: the owner read longest ago goes when the map is full.
      if (this.byOwner.size >= this.maxOwners) this.byOwner.delete(this.byOwner.keys().next().value!);
      this.byOwner.set(owner, known);
    }
    return known.names.has(place);
  }

  /** The owner's places changed: the next question reads them again. */
  forget(owner: string): void {
    this.forgets++;
    this.byOwner.delete(owner);
  }
}
