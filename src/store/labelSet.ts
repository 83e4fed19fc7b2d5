/**
 * A set of index labels that can also be sampled at random in O(1) a draw: a search estimates what share of an
 * owner's points its filter keeps from a few hundred of them before choosing how to search.
 */
export class LabelSet {
  private readonly labels: number[] = [];
  private readonly at = new Map<number, number>();

  get size(): number {
    return this.labels.length;
  }

  add(label: number): void {
    if (this.at.has(label)) return;
    this.at.set(label, this.labels.length);
    this.labels.push(label);
  }

  /** Swaps the last label into the removed one's place. */
  delete(label: number): void {
    const i = this.at.get(label);
    if (i === undefined) return;
    const last = this.labels.pop()!;
    this.at.delete(label);
    if (last !== label) {
      this.labels[i] = last;
      this.at.set(last, i);
    }
  }

  values(): readonly number[] {
    return this.labels;
  }

  /** `n` labels drawn with replacement (all of them, when there are no more than `n`). */
  sample(n: number, random: () => number = Math.random): number[] {
    if (this.labels.length <= n) return [...this.labels];
    return Array.from({ length: n }, () => this.labels[Math.floor(random() * this.labels.length)]!);
  }
}
