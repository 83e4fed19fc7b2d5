import { BackgroundPause, type Pausable } from '../../src/models/backgroundPause';
import { EncoderGate } from '../../src/models/encoderGate';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Work that notes when it was paused and resumed (ms since the test began). */
function recordedWork(): Pausable & { events: { paused: boolean; at: number }[] } {
  const t0 = performance.now();
  const events: { paused: boolean; at: number }[] = [];
  return {
    events,
    pause: () => events.push({ paused: true, at: performance.now() - t0 }),
    resume: () => events.push({ paused: false, at: performance.now() - t0 }),
  };
}

/** A gate whose queries pause recorded work, at most maxPauseMs at a time. */
function pausedByQueries(maxPauseMs: number) {
  const gate = new EncoderGate(2);
  const work = recordedWork();
  const pause = new BackgroundPause(work, maxPauseMs);
  gate.watchQueries((busy) => pause.queries(busy));
  return { gate, work, pause };
}

describe('background pause: ingest steps aside while queries encode', () => {
  test('a query pauses the work for as long as it runs', async () => {
    const { gate, work, pause } = pausedByQueries(1000);
    await gate.run('background', () => sleep(10));
    expect(work.events).toEqual([]);
    await gate.run('interactive', async () => {
      expect(work.events.map((e) => e.paused)).toEqual([true]);
      await sleep(30);
    });
    expect(work.events.map((e) => e.paused)).toEqual([true, false]);
    expect(work.events[1]!.at - work.events[0]!.at).toBeGreaterThanOrEqual(29);
    pause.stop();
  });

  test('a search after a short pause pauses again at once: the work ran longer than it was paused', async () => {
    const { gate, work, pause } = pausedByQueries(1000);
    await gate.run('interactive', () => sleep(20));
    await sleep(60);
    await gate.run('interactive', async () => {
      expect(work.events.map((e) => e.paused)).toEqual([true, false, true]);
    });
    pause.stop();
  });

  test('queries that never stop pause the work at most maxPauseMs at a time, and it runs as long between', async () => {
    const { gate, work, pause } = pausedByQueries(60);
    await gate.run('interactive', () => sleep(400));
    pause.stop();
    const { events } = work;
    // Paused, resumed, paused again...; the last resume came when the queries stopped.
    expect(events.map((e) => e.paused)).toEqual(events.map((_, i) => i % 2 === 0));
    expect(events.length).toBeGreaterThanOrEqual(4);
    expect(events.at(-1)!.paused).toBe(false);
    for (let i = 1; i < events.length - 1; i++) {
      const gap = events[i]!.at - events[i - 1]!.at;
      if (events[i - 1]!.paused) expect(gap).toBeLessThan(60 + 50);
      // Resumed: running at least as long as the pause before it.
      else expect(gap).toBeGreaterThanOrEqual(events[i - 1]!.at - events[i - 2]!.at - 1);
    }
  });

  test('stopped, it lets paused work run and pauses no more', async () => {
    const { gate, work, pause } = pausedByQueries(10_000);
    const query = gate.run('interactive', () => sleep(50));
    await sleep(5);
    pause.stop();
    expect(work.events.map((e) => e.paused)).toEqual([true, false]);
    await query;
    await gate.run('interactive', () => sleep(5));
    expect(work.events).toHaveLength(2);
  });
});
