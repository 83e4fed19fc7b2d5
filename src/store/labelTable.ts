/**
 * Values by index label, in an array: hnswlib's labels are handed out in order from 0, so the array is dense. A search
 * listing an owner's points reads an entry for each; from a Map, that made an album of 100 among an owner's 10,000
 * at 1M points 6× slower (npm run bench:store).
 */
export class LabelTable<T> {
  private readonly items: (T | undefined)[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(label: number): T | undefined {
    return this.items[label];
  }

  has(label: number): boolean {
    return this.items[label] !== undefined;
  }

  set(label: number, value: T): void {
    // Filled up to the label one slot at a time: an assignment far past the end would turn the array into a dictionary.
    while (this.items.length < label) this.items.push(undefined);
    if (this.items[label] === undefined) this.count++;
    this.items[label] = value;
  }

  delete(label: number): void {
    if (this.items[label] === undefined) return;
    this.items[label] = undefined;
    this.count--;
  }

  /** The labels held, in order. */
  *keys(): IterableIterator<number> {
    for (let label = 0; label < this.items.length; label++) if (this.items[label] !== undefined) yield label;
  }

  /** The labels held and their values, by label. */
  *entries(): IterableIterator<[number, T]> {
    for (let label = 0; label < this.items.length; label++) {
      const value = this.items[label];
      if (value !== undefined) yield [label, value];
    }
  }
}
