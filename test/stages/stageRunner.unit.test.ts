import { describe, expect, test } from '@jest/globals';
import { QuietTurn } from '../../src/stages/quietTurn';
import { StageRunner, type RunnerSettings } from '../../src/stages/stageRunner';
import { PermanentFailure, type Outcome, type WorkItem, type WorkQueue } from '../../src/stages/workQueue';
import { createLogger } from '../../src/util/logger';

const log = createLogger('silent');
const settings: RunnerSettings = { concurrency: 2, page: 3, leaseMs: 60_000, pollMs: 20, maxAttempts: 3, retryBaseMs: 10, retryMaxMs: 40 };

/** The queue contract in memory: leases, due times, outcomes. */
class MemoryQueue implements WorkQueue<WorkItem, string> {
  readonly items = new Map<
    string,
    { attempts: number; dueAt: number; leased: boolean; state: 'pending' | 'done' | 'failed'; error?: string; result?: string }
  >();
  readonly settled: { id: string; outcome: Outcome<string> }[] = [];

  add(...ids: string[]): void {
    for (const id of ids) this.items.set(id, { attempts: 0, dueAt: 0, leased: false, state: 'pending' });
  }

  claim(take: number): Promise<WorkItem[]> {
    const now = Date.now();
    const due = [...this.items].filter(([, i]) => i.state === 'pending' && !i.leased && i.dueAt <= now).slice(0, take);
    for (const [, i] of due) i.leased = true;
    return Promise.resolve(due.map(([id, i]) => ({ id, attempts: i.attempts })));
  }

  settle(item: WorkItem, outcome: Outcome<string>): Promise<void> {
    const i = this.items.get(item.id)!;
    this.settled.push({ id: item.id, outcome });
    Object.assign(i, { leased: false, attempts: i.attempts + 1 });
    if (outcome.state === 'retry') i.dueAt = outcome.dueAt.getTime();
    else i.state = outcome.state;
    if (outcome.state === 'done') i.result = outcome.result;
    else i.error = outcome.error;
    return Promise.resolve();
  }

  release(ids: readonly string[]): Promise<void> {
    for (const id of ids) this.items.get(id)!.leased = false;
    return Promise.resolve();
  }

  nextDue(): Promise<Date | null> {
    const pending = [...this.items.values()].filter((i) => i.state === 'pending' && !i.leased);
    return Promise.resolve(pending.length ? new Date(Math.min(...pending.map((i) => i.dueAt))) : null);
  }
}

describe('the stage runner', () => {
  test('handles every item at its concurrency and records each outcome', async () => {
    const q = new MemoryQueue();
    q.add('a', 'b', 'c', 'd', 'e');
    let inFlight = 0;
    let most = 0;
    const runner = new StageRunner(
      't',
      q,
      async (i) => {
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        return `made ${i.id}`;
      },
      settings,
      log,
    );
    runner.start();
    await runner.idle();
    await runner.stop();
    expect([...q.items.values()].map((i) => i.state)).toEqual(['done', 'done', 'done', 'done', 'done']);
    expect(q.items.get('c')!.result).toBe('made c');
    expect(most).toBe(2);
  });

  test('retries a failure with doubling delays and gives it up after maxAttempts; a permanent failure at once', async () => {
    const q = new MemoryQueue();
    q.add('flaky', 'broken', 'hopeless');
    let flaky = 0;
    const runner = new StageRunner(
      't',
      q,
      async (i) => {
        if (i.id === 'flaky' && ++flaky < 3) throw new Error('database away');
        if (i.id === 'broken') throw new PermanentFailure('not an image');
        if (i.id === 'hopeless') throw new Error('always');
        return 'ok';
      },
      settings,
      log,
    );
    runner.start();
    for (let t = 0; t < 100 && [...q.items.values()].some((i) => i.state === 'pending'); t++) await new Promise((r) => setTimeout(r, 10));
    await runner.stop();
    expect(q.items.get('flaky')).toMatchObject({ state: 'done', attempts: 3 });
    expect(q.items.get('broken')).toMatchObject({ state: 'failed', attempts: 1, error: 'not an image' });
    expect(q.items.get('hopeless')).toMatchObject({ state: 'failed', attempts: 3, error: 'always' });
    const delays = q.settled.filter((s) => s.id === 'hopeless' && s.outcome.state === 'retry').map((s) => (s.outcome as { dueAt: Date }).dueAt.getTime());
    expect(delays).toHaveLength(2);
    expect(delays[1]! - delays[0]!).toBeGreaterThanOrEqual(10);
  });

  test('an item whose attempts PostgreSQL being away ended is not given up, and is done once it answers', async () => {
    const q = new MemoryQueue();
    q.add('tagged');
    let away = 5;
    const runner = new StageRunner(
      't',
      q,
      async () => {
        // What pg throws while the server refuses connections.
        if (away-- > 0) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', errno: -111, syscall: 'connect' });
        return 'ok';
      },
      settings,
      log,
    );
    runner.start();
    for (let t = 0; t < 200 && q.items.get('tagged')!.state === 'pending'; t++) await new Promise((r) => setTimeout(r, 10));
    await runner.stop();
    expect(q.items.get('tagged')).toMatchObject({ state: 'done', attempts: 6 });
  });

  test('stop lets started items finish and gives the rest of the page back', async () => {
    const q = new MemoryQueue();
    q.add('a', 'b', 'c');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const started: string[] = [];
    const runner = new StageRunner(
      't',
      q,
      async (i) => {
        started.push(i.id);
        await gate;
        return 'ok';
      },
      { ...settings, concurrency: 1 },
      log,
    );
    runner.start();
    while (started.length === 0) await new Promise((r) => setTimeout(r, 2));
    const stopping = runner.stop();
    release();
    await stopping;
    expect(started).toEqual(['a']);
    expect(q.items.get('a')!.state).toBe('done');
    expect([q.items.get('b'), q.items.get('c')].map((i) => [i!.state, i!.leased])).toEqual([
      ['pending', false],
      ['pending', false],
    ]);
  });

  test('a long item does not hold the next page back: the other slots go on with it', async () => {
    const q = new MemoryQueue();
    q.add('long', 'b', 'c', 'd', 'e', 'f');
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const runner = new StageRunner('t', q, (i) => (i.id === 'long' ? held.then(() => 'slow') : Promise.resolve('quick')), settings, log);
    runner.start();
    // Pages of 3: d, e and f are on the second page, claimed while the first page's long item still runs.
    while (q.items.get('f')!.state !== 'done') await new Promise((r) => setTimeout(r, 2));
    expect(q.items.get('long')!.state).toBe('pending');
    release();
    await runner.idle();
    await runner.stop();
    expect([...q.items.values()].every((i) => i.state === 'done')).toBe(true);
  });

  test('starts no item while queries wait, and at most maxWaitMs late under queries that never pause', async () => {
    let listener: (busy: boolean) => void = () => undefined;
    const turn = new QuietTurn((l) => ((listener = l), () => undefined), 60_000);
    const q = new MemoryQueue();
    q.add('a');
    const started: number[] = [];
    const runner = new StageRunner(
      't',
      q,
      async () => {
        started.push(Date.now());
        return 'ok';
      },
      settings,
      log,
      turn,
    );
    listener(true);
    runner.start();
    await new Promise((r) => setTimeout(r, 100));
    expect(started).toHaveLength(0);
    const quietAt = Date.now();
    listener(false);
    await runner.idle();
    expect(started).toHaveLength(1);
    expect(started[0]!).toBeGreaterThanOrEqual(quietAt);
    await runner.stop();

    const bounded = new QuietTurn((l) => (l(true), () => undefined), 30);
    const t0 = Date.now();
    await bounded.wait();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25);
    bounded.close();
  });

  test('a runner never started does the work in idle() (a CLI)', async () => {
    const q = new MemoryQueue();
    q.add('a', 'b');
    const runner = new StageRunner('t', q, async () => 'ok', settings, log);
    await runner.idle();
    expect([...q.items.values()].every((i) => i.state === 'done')).toBe(true);
  });
});
