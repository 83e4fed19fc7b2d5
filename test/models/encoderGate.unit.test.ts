import { BackgroundChunker, EncoderGate } from '../../src/models/encoderGate';

const tick = () => new Promise((r) => setTimeout(r, 5));

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('encoder gate: queries first', () => {
  test('a waiting query starts before waiting ingest runs; ingest resumes when queries are done', async () => {
    const gate = new EncoderGate(1, 60_000);
    const order: string[] = [];
    const first = deferred();
    const running = gate.run('background', async () => {
      order.push('ingest-1');
      await first.promise;
    });
    const waiting = [
      gate.run('background', async () => void order.push('ingest-2')),
      gate.run('interactive', async () => void order.push('query-1')),
      gate.run('interactive', async () => void order.push('query-2')),
    ];
    await tick();
    expect(gate.pending).toBe(3);
    first.resolve();
    await Promise.all([running, ...waiting]);
    expect(order).toEqual(['ingest-1', 'query-1', 'query-2', 'ingest-2']);
  });

  test('ingest does not start beside a running query, but a query starts beside ingest when a slot is free', async () => {
    const gate = new EncoderGate(2, 60_000);
    const query = deferred();
    const q = gate.run('interactive', () => query.promise);
    let ingestStarted = false;
    const i = gate.run('background', async () => void (ingestStarted = true));
    await tick();
    expect(ingestStarted).toBe(false);
    query.resolve();
    await Promise.all([q, i]);
    expect(ingestStarted).toBe(true);

    const long = deferred();
    const bg = gate.run('background', () => long.promise);
    await expect(gate.run('interactive', async () => 'answered')).resolves.toBe('answered');
    long.resolve();
    await bg;
  });

  test('background runs (ingest, OCR) leave one slot to queries', async () => {
    const gate = new EncoderGate(2, 60_000);
    const ingest = deferred();
    const started: string[] = [];
    const runs = [
      gate.run('background', async () => {
        started.push('ingest');
        await ingest.promise;
      }),
      gate.run('background', async () => void started.push('ocr')),
    ];
    await tick();
    expect(started).toEqual(['ingest']);
    await expect(gate.run('interactive', async () => 'answered')).resolves.toBe('answered');
    ingest.resolve();
    await Promise.all(runs);
    expect(started).toEqual(['ingest', 'ocr']);
  });

  test('runs on a share of the cores share a slot: two OCR runs on one thread each of 2 cores read at once, and queries keep theirs', async () => {
    const gate = new EncoderGate(2, 60_000);
    const ocr = [deferred(), deferred(), deferred()];
    const started: string[] = [];
    const runs = ocr.map((d, i) =>
      gate.run(
        'deferred',
        async () => {
          started.push(`ocr-${i}`);
          await d.promise;
        },
        0.5,
      ),
    );
    const ingestDone = deferred();
    const ingest = gate.run('background', async () => {
      started.push('ingest');
      await ingestDone.promise;
    });
    await tick();
    expect(started).toEqual(['ocr-0', 'ocr-1']);
    await expect(gate.run('interactive', async () => 'answered')).resolves.toBe('answered');
    // A half slot freed: the next OCR run, not the whole one ingest asks for (it waits for the other half too).
    ocr[0]!.resolve();
    await tick();
    expect(started).toEqual(['ocr-0', 'ocr-1']);
    ocr[1]!.resolve();
    await tick();
    expect(started).toEqual(['ocr-0', 'ocr-1', 'ingest']);
    ingestDone.resolve();
    ocr[2]!.resolve();
    await Promise.all([...runs, ingest]);
    expect(started).toEqual(['ocr-0', 'ocr-1', 'ingest', 'ocr-2']);
    await expect(gate.run('interactive', async () => 'answered', 0.5)).rejects.toThrow(/interactive run cannot take 0.5/);
  });

  test('OCR (deferred) waits for waiting ingest runs, and starts at once on an idle gate', async () => {
    const gate = new EncoderGate(2, 60_000);
    const order: string[] = [];
    await gate.run('deferred', async () => void order.push('ocr-alone'));
    const first = deferred();
    const running = gate.run('background', async () => {
      order.push('ingest-1');
      await first.promise;
    });
    await tick();
    // The OCR run asks first, the ingest run after it: ingest still goes first.
    const waiting = [gate.run('deferred', async () => void order.push('ocr')), gate.run('background', async () => void order.push('ingest-2'))];
    await tick();
    expect(gate.pending).toBe(2);
    first.resolve();
    await Promise.all([running, ...waiting]);
    expect(order).toEqual(['ocr-alone', 'ingest-1', 'ingest-2', 'ocr']);
    // A query still goes before both.
    const held = deferred();
    const ingest = gate.run('background', () => held.promise);
    await tick();
    const after: string[] = [];
    const queued = [
      gate.run('deferred', async () => void after.push('ocr')),
      gate.run('background', async () => void after.push('ingest')),
      gate.run('interactive', async () => void after.push('query')),
    ];
    await expect(queued[2]).resolves.toBeUndefined();
    held.resolve();
    await Promise.all([ingest, ...queued]);
    expect(after).toEqual(['query', 'ingest', 'ocr']);
  });

  test.each([
    { flood: 'interactive', of: 'queries', slowed: 'background', capacity: 1 },
    { flood: 'background', of: 'ingest runs', slowed: 'deferred', capacity: 2 },
  ] as const)('a never-ending stream of $of slows a $slowed run but cannot stop it', async ({ flood, slowed, capacity }) => {
    const gate = new EncoderGate(capacity, 20);
    let stop = false;
    let ran = 0;
    // Two loops, so a run of the stream is always waiting when one finishes.
    const loop = async () => {
      while (!stop) {
        await gate.run(flood, () => new Promise((r) => setTimeout(r, 2)));
        ran++;
      }
    };
    // On jest's clock: on a loaded machine, real 2 ms timers could fire so late that the stream never
    // ran more than twice within the 20 ms.
    jest.useFakeTimers();
    try {
      const loops = [loop(), loop()];
      await jest.advanceTimersByTimeAsync(5);
      let ranBefore = -1;
      const slowedRun = gate.run(slowed, async () => void (ranBefore = ran));
      await jest.advanceTimersByTimeAsync(30);
      await slowedRun;
      stop = true;
      await jest.advanceTimersByTimeAsync(10);
      await Promise.all(loops);
      // The stream ran on for the 20 ms the run waited (2 ms a run), then gave the run its turn.
      expect(ranBefore).toBeGreaterThanOrEqual(10);
      expect(ranBefore).toBeLessThan(20);
    } finally {
      jest.useRealTimers();
    }
  });

  test('background chunks follow the measured time per item', () => {
    const c = new BackgroundChunker(8, 150);
    expect(c.size).toBe(1);
    c.observe(1, 50);
    expect(c.size).toBe(3);
    for (let i = 0; i < 20; i++) c.observe(4, 40);
    expect(c.size).toBe(8);
    for (let i = 0; i < 20; i++) c.observe(2, 400);
    expect(c.size).toBe(1);
  });

  test('watchers hear when queries start waiting or running and when the last is done; ingest runs alone say nothing', async () => {
    const gate = new EncoderGate(1, 60_000);
    const heard: boolean[] = [];
    const unwatch = gate.watchQueries((busy) => heard.push(busy));
    await gate.run('background', async () => undefined);
    expect(heard).toEqual([]);
    // A query waiting behind an ingest run already counts.
    const ingest = deferred();
    const running = gate.run('background', () => ingest.promise);
    const query = gate.run('interactive', async () => 'answer');
    await tick();
    expect(heard).toEqual([true]);
    ingest.resolve();
    await Promise.all([running, query]);
    expect(heard).toEqual([true, false]);
    // Two overlapping queries are one busy stretch.
    const first = deferred();
    const a = gate.run('interactive', () => first.promise);
    const b = gate.run('interactive', async () => undefined);
    await tick();
    first.resolve();
    await Promise.all([a, b]);
    expect(heard).toEqual([true, false, true, false]);
    unwatch();
    await gate.run('interactive', async () => undefined);
    expect(heard).toHaveLength(4);
  });
});
