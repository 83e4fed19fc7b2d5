import type { ImageRow } from '../../src/db/repositories';
import { ImageRejected, type DecodedImage, type DecodeLimits } from '../../src/images/decode';
import { phashFromStored } from '../../src/images/similarity';
import type { DecodePool } from '../../src/images/decodePool';
import type { AnimatedFrame, FrameSampling } from '../../src/images/animatedFrames';
import type { ImagePreprocessing, PixelTensor } from '../../src/models/preprocess';
import type { GeoPoint } from '../../src/util/geo';
import type { Logger } from '../../src/util/logger';
import type { VideoSampler } from '../../src/video/videoSampler';
import { sniffVideo } from '../../src/video/videoFormat';
import { isRaw, type RawPreviews } from '../../src/raw/rawPreview';

/** One vector point of an asset: its still (or first frame) at index 0, later frames after it. */
export interface FramePoint {
  tensor: PixelTensor;
  preview: Buffer;
  thumbnail: Buffer;
  /** The stretch of the video the frame stands for; null for a still. */
  segment: { startMs: number; endMs: number } | null;
}

/** What the media says about itself; it goes to the image row. */
export interface MediaFacts {
  mediaType: 'image' | 'video';
  mime: string;
  width: number;
  height: number;
  durationMs: number | null;
  videoCodec: string | null;
  /** Per point, as stored (see Image.frameTimesMs). */
  frameTimesMs: number[];
  takenAt: Date | undefined;
  camera: string | undefined;
  location: GeoPoint | undefined;
  /** Of the still or first frame, for near-duplicates. */
  phash: string | null;
  sharpness: number | null;
  edited: boolean;
}

export interface ReadMedia {
  facts: MediaFacts;
  frames: FramePoint[];
  ocrInput: Buffer | null;
}

export interface MediaFramesDeps {
  decoder: Pick<DecodePool, 'decode' | 'animationFrames'>;
  decode: DecodeLimits;
  /** The preprocessing of the pack in use (read per image: the pack can change between jobs). */
  prep: () => ImagePreprocessing;
  /** Null when no ffmpeg runs here: videos then fail with the reason. */
  video: VideoSampler | null;
  /** Camera raw files, through their embedded JPEG. */
  raw: Pick<RawPreviews, 'extract'>;
  animation: FrameSampling;
  log: Logger;
}

/** What an indexed asset's row says about it (re-indexing reads no original). */
export function factsOf(image: ImageRow): MediaFacts {
  return {
    mediaType: image.mediaType,
    mime: image.mime,
    width: image.width,
    height: image.height,
    durationMs: image.durationMs,
    videoCodec: image.videoCodec,
    frameTimesMs: image.frameTimesMs,
    takenAt: image.takenAt ?? undefined,
    camera: image.camera ?? undefined,
    location: image.latitude !== null && image.longitude !== null ? { lat: image.latitude, lon: image.longitude } : undefined,
    phash: image.phash === null ? null : phashFromStored(image.phash),
    sharpness: image.sharpness,
    edited: image.edited,
  };
}

/** A Live Photo's still time marker: the still stands for no stretch of the movie. */
export const STILL = -1;

/** Segment bounds per point from stored frame times: each frame runs until the next, the last until the end. */
export function segmentsFromTimes(frameTimesMs: readonly number[], durationMs: number | null): ({ startMs: number; endMs: number } | null)[] {
  return frameTimesMs.map((t, k) => {
    if (t === STILL) return null;
    const next = frameTimesMs.slice(k + 1).find((x) => x !== STILL);
    return { startMs: t, endMs: next ?? Math.max(durationMs ?? t, t) };
  });
}

const point = (d: Pick<DecodedImage, 'tensor' | 'preview' | 'thumbnail'>, segment: FramePoint['segment']): FramePoint => ({
  tensor: d.tensor,
  preview: d.preview,
  thumbnail: d.thumbnail,
  segment,
});

/**
 * Turns one ingest item's bytes into the points it is searched by: a photo is one point; a video one
 * per sampled frame; an animated GIF or WebP one per picked frame; a Live Photo its still plus its
 * movie's frames. Every frame decodes on the decode threads, like a photo.
 */
export class MediaFrames {
  constructor(private readonly deps: MediaFramesDeps) {}

  /**
   * `name`: the item's file name or URL (raw formats are known by it); `file`: where the bytes are on
   * disk, if they are (ffmpeg and ExifTool read it there instead of a scratch copy).
   */
  async read(
    data: Buffer,
    name: string | null,
    file: string | null,
    ocrSide: number | undefined,
    motion?: { data: Buffer; file: string | null },
  ): Promise<ReadMedia> {
    const videoMime = sniffVideo(data);
    if (videoMime) return this.readVideo(data, videoMime, file);
    const { decoder, decode } = this.deps;
    const prep = this.deps.prep();
    const raw = isRaw(data, name) ? await this.deps.raw.extract(data, file) : null;
    const still = await decoder.decode(raw?.jpeg ?? data, prep, { ...decode, ocrSide, similarity: true, fallbackOrientation: raw?.orientation });
    const facts: MediaFacts = {
      mediaType: 'image',
      mime: raw?.mime ?? still.mime,
      width: still.width,
      height: still.height,
      durationMs: null,
      videoCodec: null,
      frameTimesMs: [],
      takenAt: raw ? raw.takenAt : still.takenAt,
      camera: raw ? raw.camera : still.camera,
      location: raw ? raw.location : still.location,
      phash: still.phash ?? null,
      sharpness: still.sharpness ?? null,
      edited: still.edited,
    };
    const ocrInput = still.ocrInput ?? null;
    const movie = motion ? await this.readMotion(motion) : null;
    if (movie) {
      return {
        facts: { ...facts, durationMs: movie.facts.durationMs, videoCodec: movie.facts.videoCodec, frameTimesMs: [STILL, ...movie.facts.frameTimesMs] },
        frames: [point(still, null), ...movie.frames],
        ocrInput,
      };
    }
    if (!still.frameDelaysMs) return { facts, frames: [point(still, null)], ocrInput };
    return this.readAnimation(data, still, facts, ocrInput, still.frameDelaysMs);
  }

  /** A Live Photo's movie; without it (video off, a broken movie) the still is indexed alone. */
  private async readMotion(motion: { data: Buffer; file: string | null }): Promise<ReadMedia | null> {
    try {
      return await this.readVideo(motion.data, sniffVideo(motion.data) ?? 'video/quicktime', motion.file);
    } catch (e) {
      if (!(e instanceof ImageRejected)) throw e;
      this.deps.log.warn({ file: motion.file, err: e.message }, "a Live Photo's movie could not be read: its still is indexed alone");
      return null;
    }
  }

  /** Frames again from stored previews (re-indexing under another pack), with the segments they had. */
  reframe(previews: readonly Buffer[], segments: readonly FramePoint['segment'][]): Promise<FramePoint[]> {
    return Promise.all(previews.map(async (p, k) => point(await this.deps.decoder.decode(p, this.deps.prep(), this.deps.decode), segments[k] ?? null)));
  }

  private async readVideo(data: Buffer, mime: string, file: string | null): Promise<ReadMedia> {
    if (!this.deps.video) throw new ImageRejected('unsupported', 'video ingest is off (VIDEO=off, or no ffmpeg was found: install ffmpeg or set FFMPEG_PATH)');
    const { info, segments } = await this.deps.video.sample(data, mime, file);
    // The first frame's sharpness stands for the video when a copy to keep is suggested.
    const decoded = await Promise.all(segments.map((s, k) => this.deps.decoder.decode(s.jpeg, this.deps.prep(), { ...this.deps.decode, similarity: k === 0 })));
    const frames = decoded.map((d, k) => point(d, { startMs: segments[k]!.startMs, endMs: segments[k]!.endMs }));
    const durationMs = info.durationMs ?? segments[segments.length - 1]!.endMs;
    return {
      facts: {
        mediaType: 'video',
        mime,
        width: info.width,
        height: info.height,
        durationMs,
        videoCodec: info.codec,
        frameTimesMs: segments.map((s) => s.startMs),
        takenAt: info.takenAt,
        camera: info.camera,
        location: info.location,
        // A video's near-duplicates are found by its frames' vectors; the hash describes one frame only.
        phash: null,
        sharpness: decoded[0]!.sharpness ?? null,
        edited: false,
      },
      frames,
      ocrInput: null,
    };
  }

  private async readAnimation(data: Buffer, first: DecodedImage, facts: MediaFacts, ocrInput: Buffer | null, delaysMs: number[]): Promise<ReadMedia> {
    let picked: AnimatedFrame[];
    try {
      picked = await this.deps.decoder.animationFrames(data, delaysMs, this.deps.animation, this.deps.decode.maxPixels);
    } catch (e) {
      // Frames beyond the first are a bonus: an animation too large to sample is still searchable by its
      // first. A decode process that failed is not the image's fault: the job stops and resumes.
      if (!(e instanceof ImageRejected)) throw e;
      this.deps.log.warn({ err: e.message }, 'animated image: only its first frame is indexed');
      return { facts, frames: [point(first, null)], ocrInput };
    }
    const later = await Promise.all(picked.slice(1).map((f) => this.deps.decoder.decode(f.png, this.deps.prep(), this.deps.decode)));
    const total = delaysMs.reduce((a, b) => a + b, 0);
    return {
      facts: { ...facts, durationMs: total, frameTimesMs: picked.map((f) => f.startMs) },
      frames: picked.map((f, k) => point(k === 0 ? first : later[k - 1]!, { startMs: f.startMs, endMs: f.endMs })),
      ocrInput,
    };
  }
}
