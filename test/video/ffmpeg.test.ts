import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { findFfmpeg } from '../../src/video/ffmpegBinary';
import { FfmpegFailed } from '../../src/video/ffmpegRun';
import { effectiveMaxSpacingMs, sampleVideo, segmentBounds } from '../../src/video/frameSampler';
import { probeVideo } from '../../src/video/videoProbe';
import { sniffVideo } from '../../src/video/videoFormat';
import { pairedMovies } from '../../src/video/livePhotos';
import { tempDir } from '../helpers/env';
import { colourVideo } from '../helpers/video';

const execFileP = promisify(execFile);
const LIMITS = { timeoutMs: 30_000, maxMemoryBytes: 2 * 1024 ** 3, nice: null };
const SAMPLING = { minSpacingMs: 500, maxSpacingMs: 3000, maxFrames: 60, sceneThreshold: 0.3, frameSide: 512 };

describe('ffmpeg', () => {
  let dir: string;
  let clip: string;
  beforeAll(async () => {
    dir = await tempDir('ffmpeg');
    // A name a shell would run: spawned without one, it is only a name.
    clip = path.join(dir, 'a;touch PWNED;$(touch PWNED2).mp4');
    await writeFile(
      clip,
      await colourVideo({
        spans: [
          { colour: 'red', seconds: 4 },
          { colour: 'green', seconds: 8 },
        ],
      }),
    );
  });

  test('the system ffmpeg is preferred; FFMPEG_PATH must run', () => {
    expect(findFfmpeg(undefined)).toMatchObject({ origin: 'system', path: expect.stringMatching(/ffmpeg$/) });
    expect(() => findFfmpeg('/nonexistent/ffmpeg')).toThrow(/does not run/);
  });

  test.each([
    ['system', '/usr/bin/ffmpeg'],
    ['npm (2018 build)', require.resolve('@ffmpeg-installer/linux-x64/ffmpeg')],
  ])('%s build: probe and frames at every gap, spawned without a shell', async (_name, bin) => {
    const info = await probeVideo(bin, clip, LIMITS);
    expect(info).toMatchObject({ durationMs: 12_000, codec: 'h264', width: 160, height: 120, rotation: 0 });
    const segments = await sampleVideo(bin, clip, info, SAMPLING, LIMITS, dir);
    // Never more than 3 s without a frame; the last stretch ends with the video.
    expect(segments[0]!.startMs).toBe(0);
    for (const [i, s] of segments.entries()) {
      expect(s.endMs - s.startMs).toBeLessThanOrEqual(3000);
      if (i > 0) expect(s.startMs).toBe(segments[i - 1]!.endMs);
      expect(s.jpeg.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    }
    expect(segments[segments.length - 1]!.endMs).toBe(12_000);
    expect(existsSync(path.join(dir, 'PWNED')) || existsSync('PWNED2')).toBe(false);
  });

  test("a phone's rotation: shown upright, sides swapped, frames turned", async () => {
    // The 2018 build still writes the old rotate tag; both builds read it back as a display matrix or a tag.
    const npm = require.resolve('@ffmpeg-installer/linux-x64/ffmpeg');
    const turned = path.join(dir, 'turned.mp4');
    await execFileP(npm, ['-hide_banner', '-loglevel', 'error', '-y', '-i', clip, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', turned]);
    for (const bin of ['/usr/bin/ffmpeg', npm]) {
      const info = await probeVideo(bin, turned, LIMITS);
      expect(info).toMatchObject({ rotation: expect.any(Number), width: 120, height: 160 });
      const [first] = await sampleVideo(bin, turned, info, SAMPLING, LIMITS, dir);
      expect(await sharp(first!.jpeg).metadata()).toMatchObject({ width: 120, height: 160 });
    }
  });

  test('a long video gets sparser frames, never a cut-off tail', async () => {
    expect(effectiveMaxSpacingMs(60_000, { maxSpacingMs: 2000, maxFrames: 5 })).toBe(15_000);
    expect(effectiveMaxSpacingMs(null, { maxSpacingMs: 2000, maxFrames: 5 })).toBe(2000);
    const info = await probeVideo('/usr/bin/ffmpeg', clip, LIMITS);
    const segments = await sampleVideo('/usr/bin/ffmpeg', clip, info, { ...SAMPLING, maxSpacingMs: 1000, maxFrames: 3 }, LIMITS, dir);
    // Three frames at most: the start, the cut to green at 4 s, and 6 s (12 s / 2) later.
    expect(segments.map((s) => [s.startMs, s.endMs])).toEqual([
      [0, 4000],
      [4000, 10_000],
      [10_000, 12_000],
    ]);
    expect(segmentBounds([0, 4000], null, 3000)).toEqual([
      { startMs: 0, endMs: 4000 },
      { startMs: 4000, endMs: 7000 },
    ]);
  });

  test('time and memory limits stop ffmpeg with a reason', async () => {
    await expect(probeVideo('/usr/bin/ffmpeg', clip, { ...LIMITS, timeoutMs: 1 })).rejects.toThrow(/took longer than 1 ms/);
    await expect(probeVideo('/usr/bin/ffmpeg', clip, { ...LIMITS, maxMemoryBytes: 8 * 1024 * 1024 })).rejects.toBeInstanceOf(FfmpegFailed);
    await expect(probeVideo('/usr/bin/ffmpeg', path.join(dir, 'missing.mp4'), LIMITS)).rejects.toThrow(/not a readable video/);
  });

  test('containers are told from their bytes; Live Photo halves pair by name', () => {
    expect(sniffVideo(Buffer.from('\0\0\0\x18ftypisom\0\0\0\0', 'latin1'))).toBe('video/mp4');
    expect(sniffVideo(Buffer.from('\0\0\0\x14ftypqt  \0\0\0\0', 'latin1'))).toBe('video/quicktime');
    expect(sniffVideo(Buffer.from('\0\0\0\x18ftypheic\0\0\0\0', 'latin1'))).toBeNull();
    expect(sniffVideo(Buffer.from('\0\0\0\x18ftypcrx \0\0\0\0', 'latin1'))).toBeNull(); // Canon CR3 is a photo
    expect(sniffVideo(Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3]), Buffer.from('....webm....')]))).toBe('video/webm');
    // A listing hides exactly the movie its still's item will read (motionBeside): a name that differs in
    // case (img_3 / IMG_3) would be hidden and then never read, so it stays a video of its own.
    expect([...pairedMovies(['IMG_1.HEIC', 'IMG_1.MOV', 'IMG_2.mov', 'img_3.jpg', 'IMG_3.mp4', 'IMG_4.jpg', 'IMG_4.mp4']).entries()]).toEqual([
      ['IMG_1.MOV', 'IMG_1.HEIC'],
      ['IMG_4.mp4', 'IMG_4.jpg'],
    ]);
  });
});
