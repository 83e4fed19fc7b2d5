import { readdirSync, readFileSync } from 'node:fs';
import sharp from 'sharp';
import { decodeImage, DEFAULT_DECODE_LIMITS, ImageRejected } from '../../src/images/decode';
import { DecodePool } from '../../src/images/decodePool';
import { sampleAnimation } from '../../src/images/animatedFrames';
import { niceFromStat, stateFromStat, statesOnce } from '../helpers/proc';
import type { ImagePreprocessing } from '../../src/models/preprocess';

const prep: ImagePreprocessing = { size: 16, resize: 'squash', interpolation: 'bicubic', mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };

/** The pool's processes' states once all are stopped ('T'), or after a second. */
const stoppedStates = (pool: DecodePool) =>
  statesOnce(
    () => pool.processIds(),
    (s) => s === 'T',
  );

describe('decode pool: ingest decodes in child processes', () => {
  const pool = new DecodePool(2, 19);
  afterAll(() => pool.close());

  test('gives what decoding on the main thread gives, EXIF included', async () => {
    const jpeg = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#3a6' } })
      .composite([{ input: { create: { width: 100, height: 50, channels: 3, background: '#f00' } }, left: 10, top: 20 }])
      .withExif({ IFD0: { Make: 'Apple', Model: 'iPhone 15' }, IFD2: { DateTimeOriginal: '2023:05:04 10:20:30' } })
      .jpeg()
      .toBuffer();
    const [here, there] = await Promise.all([decodeImage(jpeg, prep), pool.decode(jpeg, prep, DEFAULT_DECODE_LIMITS)]);
    expect(there.tensor.size).toBe(16);
    expect(Array.from(there.tensor.data)).toEqual(Array.from(here.tensor.data));
    expect(there.preview.equals(here.preview)).toBe(true);
    expect(there.thumbnail.equals(here.thumbnail)).toBe(true);
    expect(there).toMatchObject({ mime: 'image/jpeg', width: 300, height: 200, camera: 'Apple iPhone 15' });
    expect(there.takenAt).toEqual(here.takenAt);
  });

  test('a rejected image stays an ImageRejected with its reason; many decodes in flight all come back', async () => {
    await expect(pool.decode(Buffer.from('not an image'), prep, DEFAULT_DECODE_LIMITS)).rejects.toMatchObject({
      reason: 'unsupported',
      constructor: ImageRejected,
    });
    const big = await sharp({ create: { width: 400, height: 400, channels: 3, background: '#000' } })
      .png()
      .toBuffer();
    await expect(pool.decode(big, prep, { ...DEFAULT_DECODE_LIMITS, maxPixels: 1000 })).rejects.toBeInstanceOf(ImageRejected);
    const images = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        sharp({ create: { width: 40 + i, height: 30, channels: 3, background: { r: i * 20, g: 0, b: 0 } } })
          .png()
          .toBuffer(),
      ),
    );
    const decoded = await Promise.all(images.map((d) => pool.decode(d, prep, DEFAULT_DECODE_LIMITS)));
    expect(decoded.map((d) => d.width)).toEqual(images.map((_, i) => 40 + i));
  });

  test("an animation's frames are picked in a decode process as on the main thread; one too large to sample is rejected, not lost", async () => {
    // Red, red with a dot (too small a change to pick), white, blue: distinct, so the GIF keeps all four.
    const dot = { input: { create: { width: 2, height: 2, channels: 3 as const, background: '#000' } }, left: 3, top: 3 };
    const pages = ['#f00', '#f00', '#fff', '#00f'].map((background, i) =>
      sharp({ create: { width: 24, height: 16, channels: 3, background } })
        .composite(i === 1 ? [dot] : [])
        .removeAlpha()
        .raw()
        .toBuffer(),
    );
    const delays = [500, 500, 500, 500];
    const gif = await sharp(Buffer.concat(await Promise.all(pages)), { raw: { width: 24, height: 64, channels: 3, pageHeight: 16 } })
      .gif({ delay: delays })
      .toBuffer();
    expect((await sharp(gif).metadata()).delay).toEqual(delays);
    const sampling = { minSpacingMs: 200, maxSpacingMs: 10_000, maxFrames: 8, changeThreshold: 0.1 };
    const [here, there] = await Promise.all([sampleAnimation(gif, delays, sampling, 1e6), pool.animationFrames(gif, delays, sampling, 1e6)]);
    expect(there.map((f) => [f.page, f.startMs, f.endMs])).toEqual([
      [0, 0, 1000],
      [2, 1000, 1500],
      [3, 1500, 2000],
    ]);
    expect(there.map((f, k) => [f.page, f.startMs, f.endMs, Buffer.isBuffer(f.png) && f.png.equals(here[k]!.png)])).toEqual(
      here.map((f) => [f.page, f.startMs, f.endMs, true]),
    );
    // Every frame counts against the pixel limit: 4 frames of 384 px each are over 1000.
    await expect(pool.animationFrames(gif, delays, sampling, 1000)).rejects.toMatchObject({
      reason: 'too_large',
      message: expect.stringContaining('4 frames of 24x16') as string,
      constructor: ImageRejected,
    });
    // A broken animation is the image's fault (its first frame is still indexed), not a failed decode process.
    await expect(pool.animationFrames(gif.subarray(0, gif.length - 40), delays, sampling, 1e6)).rejects.toMatchObject({
      reason: 'corrupt',
      constructor: ImageRejected,
    });
  });

  // sharp decodes on libuv's and libvips's threads, which a process shares: each of them must run niced.
  test('every thread of a decode process runs at the background priority, libvips workers included', async () => {
    const photo = await sharp({ create: { width: 1200, height: 900, channels: 3, background: '#48c' } })
      .jpeg()
      .toBuffer();
    await Promise.all(Array.from({ length: 4 }, () => pool.decode(photo, prep, DEFAULT_DECODE_LIMITS)));
    const pids = pool.processIds();
    expect(pids).toHaveLength(2);
    for (const pid of pids) {
      const threads = readdirSync(`/proc/${pid}/task`).map((tid) => ({
        name: readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim(),
        nice: niceFromStat(`/proc/${pid}/task/${tid}/stat`),
      }));
      expect(threads.some((t) => t.name === 'libvips worker')).toBe(true);
      expect(threads.filter((t) => t.nice !== 19)).toEqual([]);
    }
  });

  test('a warmed decode process takes the first image; one that dies fails only the images it had, and the next go to a new one', async () => {
    const own = new DecodePool(1, null);
    try {
      const small = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#c84' } })
        .png()
        .toBuffer();
      // Warmed: the process runs before the first image asks for it, and that image goes to it.
      own.warm();
      const [first] = own.processIds();
      expect(first).toBeDefined();
      await own.decode(small, prep, DEFAULT_DECODE_LIMITS);
      expect(own.processIds()).toEqual([first]);
      const large = sharp({ create: { width: 4000, height: 3000, channels: 3, background: '#123' } }).jpeg();
      const inHand = own.decode(await large.toBuffer(), prep, DEFAULT_DECODE_LIMITS);
      process.kill(first!, 'SIGKILL');
      await expect(inHand).rejects.toThrow(/decode process stopped \(SIGKILL\)/);
      const after = await own.decode(small, prep, DEFAULT_DECODE_LIMITS);
      expect(after).toMatchObject({ width: 64, height: 48 });
      expect(own.processIds()).toHaveLength(1);
      expect(own.processIds()[0]).not.toBe(first);
    } finally {
      await own.close();
    }
  });

  // A stopped process is what a libvips hang looks like from outside: it holds the images and answers nothing.
  test('a process that holds an image past the timeout is killed, and its images are decoded on a fresh one', async () => {
    const own = new DecodePool(1, null, 5000);
    try {
      own.warm();
      const [first] = own.processIds();
      process.kill(first!, 'SIGSTOP');
      const images = await Promise.all(
        [64, 80].map((width) =>
          sharp({ create: { width, height: 48, channels: 3, background: '#c84' } })
            .png()
            .toBuffer(),
        ),
      );
      const decoded = await Promise.all(images.map((d) => own.decode(d, prep, DEFAULT_DECODE_LIMITS)));
      expect(decoded.map((d) => d.width)).toEqual([64, 80]);
      expect(own.processIds()).toHaveLength(1);
      expect(own.processIds()[0]).not.toBe(first);
      expect(() => process.kill(first!, 0)).toThrow(/ESRCH/);
    } finally {
      await own.close();
    }
  });

  test('an image that times out twice is rejected with the reason, and the next image decodes', async () => {
    const own = new DecodePool(1, null, 1000);
    // Every process the pool starts is stopped before it can answer.
    const freeze = setInterval(() => {
      for (const pid of own.processIds()) process.kill(pid, 'SIGSTOP');
    }, 2);
    try {
      const small = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#48c' } })
        .png()
        .toBuffer();
      const started = Date.now();
      await expect(own.decode(small, prep, DEFAULT_DECODE_LIMITS)).rejects.toMatchObject({
        constructor: ImageRejected,
        reason: 'corrupt',
        message: expect.stringMatching(/did not finish within 1000 ms, twice/),
      });
      expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
      clearInterval(freeze);
      // A process started just before the freeze ended may have been stopped too.
      for (const pid of own.processIds()) process.kill(pid, 'SIGCONT');
      expect(await own.decode(small, prep, DEFAULT_DECODE_LIMITS)).toMatchObject({ width: 64, height: 48 });
    } finally {
      clearInterval(freeze);
      await own.close();
    }
  });

  // What a search does to ingest's decoding (see BackgroundPause): stopped where it is, nothing lost.
  test('paused, its processes stop with their images in hand, and one started meanwhile too; resumed, the images come back', async () => {
    const own = new DecodePool(2, null);
    try {
      const photo = await sharp({ create: { width: 1600, height: 1200, channels: 3, background: '#6a4' } })
        .jpeg()
        .toBuffer();
      own.warm();
      const [first, second] = own.processIds();
      own.pause();
      expect(await stoppedStates(own)).toEqual(['T', 'T']);
      // Two images to each process.
      const inHand = Array.from({ length: 4 }, () => own.decode(photo, prep, DEFAULT_DECODE_LIMITS));
      const settled = Promise.allSettled(inHand);
      const early = await Promise.race([settled, new Promise((r) => setTimeout(() => r('still stopped'), 500))]);
      expect(early).toBe('still stopped');
      // The next image goes to a new process, which starts stopped.
      process.kill(first!, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 100));
      const replacement = own.decode(photo, prep, DEFAULT_DECODE_LIMITS);
      expect(own.processIds()).toHaveLength(2);
      expect(own.processIds()).toContain(second);
      expect(own.processIds()).not.toContain(first);
      expect(await stoppedStates(own)).toEqual(['T', 'T']);
      own.resume();
      expect((await replacement).width).toBe(1600);
      const outcomes = (await settled).map((r) => (r.status === 'fulfilled' ? r.value.width : String(r.reason)));
      expect(outcomes.filter((o) => o === 1600)).toHaveLength(2);
      expect(outcomes.filter((o) => o !== 1600)).toEqual([expect.stringMatching(/SIGKILL/), expect.stringMatching(/SIGKILL/)]);
      expect(own.processIds().map((pid) => stateFromStat(`/proc/${pid}/stat`))).not.toContain('T');
    } finally {
      await own.close();
    }
  });

  test('a paused pool closes: its stopped processes get their signal and exit', async () => {
    const own = new DecodePool(1, null);
    try {
      own.warm();
      const [pid] = own.processIds();
      own.pause();
      expect(await stoppedStates(own)).toEqual(['T']);
      await own.close();
      expect(() => process.kill(pid!, 0)).toThrow(/ESRCH/);
    } finally {
      await own.close();
    }
  });
});
