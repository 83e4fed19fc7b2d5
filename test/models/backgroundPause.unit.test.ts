import { BackgroundPause, type Pausable } from '../../src/models/backgroundPause';
import { EncoderGate } from '../../src/models/encoderGate';

// The clock is jest's: real timers made the duty-cycle test fail on a loaded CI machine (a 60 ms pause
// measured 139 ms), and what is tested is the schedule, not the machine's timer latency.
beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs fn while the fake clock moves on, so that its sleeps end. */
async function timed<T>(fn: Promise<T>, ms: number): Promise<T> {
  await jest.advanceTimersByTimeAsync(ms);
  return fn;
}

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
    await timed(
      gate.run('background', () => sleep(10)),
      10,
    );
    expect(work.events).toEqual([]);
    await timed(
      gate.run('interactive', async () => {
        expect(work.events.map((e) => e.paused)).toEqual([true]);
        await sleep(30);
      }),
      30,
    );
    expect(work.events.map((e) => e.paused)).toEqual([true, false]);
    expect(work.events[1]!.at - work.events[0]!.at).toBe(30);
    pause.stop();
  });

  test('a search after a short pause pauses again at once: the work ran longer than it was paused', async () => {
    const { gate, work, pause } = pausedByQueries(1000);
    await timed(
      gate.run('interactive', () => sleep(20)),
      20,
    );
    await jest.advanceTimersByTimeAsync(60);
    await gate.run('interactive', async () => {
      expect(work.events.map((e) => e.paused)).toEqual([true, false, true]);
    });
    pause.stop();
  });

  test('queries that never stop pause the work at most maxPauseMs at a time, and it runs as long between', async () => {
    const { gate, work, pause } = pausedByQueries(60);
    await timed(
      gate.run('interactive', () => sleep(400)),
      400,
    );
    pause.stop();
    const { events } = work;
    // Paused, resumed, paused again...; the last resume came when the queries stopped.
    expect(events.map((e) => e.paused)).toEqual(events.map((_, i) => i % 2 === 0));
    expect(events.length).toBeGreaterThanOrEqual(4);
    expect(events.at(-1)!.paused).toBe(false);
    for (let i = 1; i < events.length - 1; i++) {
      const gap = events[i]!.at - events[i - 1]!.at;
      // Paused: for maxPauseMs; resumed: running exactly as long as the pause before it.
      expect(gap).toBe(60);
    }
  });

  test('stopped, it lets paused work run and pauses no more', async () => {
    const { gate, work, pause } = pausedByQueries(10_000);
    const query = gate.run('interactive', () => sleep(50));
    await jest.advanceTimersByTimeAsync(5);
    pause.stop();
    expect(work.events.map((e) => e.paused)).toEqual([true, false]);
    await timed(query, 45);
    await timed(
      gate.run('interactive', () => sleep(5)),
      5,
    );
    expect(work.events).toHaveLength(2);
  });
});
