import { mapAsReady } from '../../src/util/async';

/** A call per item that ends when the test says so. */
function gated() {
  const ends = new Map<string, (fail?: Error) => void>();
  let running = 0;
  let most = 0;
  const fn = (item: string) =>
    new Promise<string>((resolve, reject) => {
      most = Math.max(most, ++running);
      ends.set(item, (fail) => {
        running--;
        if (fail) reject(fail);
        else resolve(item.toUpperCase());
      });
    });
  return { fn, end: (item: string, fail?: Error) => ends.get(item)!(fail), started: () => [...ends.keys()], most: () => most };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('mapAsReady', () => {
  test('yields each result when it is ready, not behind a slower one before it, with at most `concurrency` in flight', async () => {
    const g = gated();
    const it = mapAsReady(['a', 'b', 'c', 'd'], 2, g.fn)[Symbol.asyncIterator]();
    const first = it.next();
    await tick();
    expect(g.started()).toEqual(['a', 'b']);
    g.end('b');
    expect(await first).toEqual({ value: 'B', done: false });
    // b's slot went to c; a, still running, held nothing back.
    expect(g.started()).toEqual(['a', 'b', 'c']);
    const second = it.next();
    g.end('c');
    expect(await second).toEqual({ value: 'C', done: false });
    const third = it.next();
    await tick();
    g.end('a');
    expect(await third).toEqual({ value: 'A', done: false });
    const fourth = it.next();
    await tick();
    g.end('d');
    expect(await fourth).toEqual({ value: 'D', done: false });
    expect(await it.next()).toEqual({ value: undefined, done: true });
    expect(g.most()).toBe(2);
  });

  test('a call that fails throws from the iteration', async () => {
    const g = gated();
    const seen: string[] = [];
    const run = (async () => {
      for await (const r of mapAsReady(['a', 'b'], 2, g.fn)) seen.push(r);
    })();
    await tick();
    g.end('b');
    await tick();
    g.end('a', new Error('a broke'));
    await expect(run).rejects.toThrow('a broke');
    expect(seen).toEqual(['B']);
  });
});
