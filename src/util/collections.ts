/**
 * One item per key, in the order keys first appear, each the last item with that key (a batch can hold the same
 * image twice: one upload of a photo and its copy).
 */
export function lastPerKey<T, K>(items: Iterable<T>, key: (item: T) => K): T[] {
  return [...new Map([...items].map((item) => [key(item), item] as const)).values()];
}
