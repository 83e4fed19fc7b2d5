import type { Priority } from '../models/encoderGate';
import type { ImageEncoder, TextEncoder } from '../models/encoders';
import type { ModelPack } from '../models/modelPack';
import type { PixelTensor } from '../models/preprocess';
import type { Logger } from '../util/logger';
import { bufferToFloats, floatsToBuffer, HEADERS, healthSchema, PATHS, textResponseSchema, type TextRequest } from './protocol';

export interface EncoderPoolSettings {
  urls: string[];
  token: string | undefined;
  /** A text encode (a search) that takes longer goes to the next encoder, then to the local pack. */
  timeoutMs: number;
  /** The same for an image batch, and for texts encoded in the background (a vocabulary, a corpus). */
  batchTimeoutMs: number;
  /** How often every encoder is asked whether it is up and which pack it serves. */
  healthMs: number;
}

export type EndpointState = 'unknown' | 'up' | 'down' | 'incompatible';

export interface EndpointStatus {
  url: string;
  state: EndpointState;
  /** Requests this service has in flight there. */
  inFlight: number;
  /** The encoder's own queue, from its last health answer. */
  queued: number;
  error?: string;
}

/** A remote encoder answered for another model: its vectors would not be comparable with the index. */
export class PackMismatch extends Error {}

/**
 * Encodes on remote encoders (`npm run encoder`) and falls back to the local pack: work goes to the
 * encoder with the shortest queue, a failure or a timeout moves it to the next one and marks the
 * failed one down until a health check finds it up again, and one serving another pack is refused
 * for good. So an encoder that goes offline costs at most one timeout, never a stalled search.
 */
export class EncoderPool {
  private readonly endpoints: EndpointStatus[];
  private timer: NodeJS.Timeout | null = null;
  readonly image: ImageEncoder;
  readonly text: TextEncoder;

  constructor(
    private readonly settings: EncoderPoolSettings,
    private readonly local: Pick<ModelPack, 'key' | 'image' | 'text'>,
    private readonly log: Logger,
  ) {
    this.endpoints = settings.urls.map((url) => ({ url: url.replace(/\/+$/, ''), state: 'unknown', inFlight: 0, queued: 0 }));
    this.image = {
      dim: local.image.dim,
      preprocessing: local.image.preprocessing,
      encode: async (images, priority = 'interactive') =>
        (await this.remote((ep, signal) => this.encodeImages(ep, images, priority, signal), settings.batchTimeoutMs)) ?? local.image.encode(images, priority),
    };
    this.text = {
      dim: local.text.dim,
      maxLength: local.text.maxLength,
      encode: async (texts, priority = 'interactive') =>
        (await this.remote(
          (ep, signal) => this.encodeTexts(ep, texts, priority, signal),
          priority === 'background' ? settings.batchTimeoutMs : settings.timeoutMs,
        )) ?? local.text.encode(texts, priority),
    };
  }

  /** Checks every encoder now, then every `healthMs`. */
  async start(): Promise<void> {
    await this.checkAll();
    this.timer = setInterval(() => void this.checkAll(), this.settings.healthMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  status(): EndpointStatus[] {
    return this.endpoints.map((e) => ({ ...e }));
  }

  private async checkAll(): Promise<void> {
    await Promise.all(this.endpoints.filter((e) => e.state !== 'incompatible').map((e) => this.check(e)));
  }

  private async check(ep: EndpointStatus): Promise<void> {
    try {
      const res = await fetch(`${ep.url}${PATHS.health}`, { signal: AbortSignal.timeout(Math.min(this.settings.timeoutMs, 2000)) });
      const health = healthSchema.parse(await res.json());
      this.verifyPack(ep, health.pack, health.dim);
      ep.queued = health.queued;
      if (ep.state !== 'up') this.log.info({ encoder: ep.url, pack: health.pack }, 'remote encoder is up');
      ep.state = 'up';
      delete ep.error;
    } catch (e) {
      this.markFailed(ep, e as Error);
    }
  }

  private verifyPack(ep: EndpointStatus, pack: string | null, dim: number): void {
    if (pack === this.local.key && dim === this.local.image.dim) return;
    throw new PackMismatch(
      `encoder ${ep.url} serves ${pack ?? 'an unnamed pack'} (dim ${dim}); this service indexes with ${this.local.key} (dim ${this.local.image.dim}): refused`,
    );
  }

  private markFailed(ep: EndpointStatus, e: Error): void {
    const state: EndpointState = e instanceof PackMismatch ? 'incompatible' : 'down';
    if (ep.state !== state) {
      if (state === 'incompatible') this.log.error({ encoder: ep.url }, e.message);
      else this.log.warn({ encoder: ep.url, err: e.message }, 'remote encoder is down; its work goes elsewhere');
    }
    ep.state = state;
    ep.error = e.message;
  }

  /** Tries the encoders that are up, shortest queue first; null when none answered (the caller encodes locally). */
  private async remote<T>(send: (ep: EndpointStatus, signal: AbortSignal) => Promise<T>, timeoutMs: number): Promise<T | null> {
    const candidates = this.endpoints.filter((e) => e.state === 'up').sort((a, b) => a.inFlight + a.queued - (b.inFlight + b.queued));
    for (const ep of candidates) {
      if (ep.state !== 'up') continue; // failed meanwhile, for another request
      ep.inFlight++;
      try {
        return await send(ep, AbortSignal.timeout(timeoutMs));
      } catch (e) {
        this.markFailed(ep, e as Error);
      } finally {
        ep.inFlight--;
      }
    }
    return null;
  }

  private async answer(ep: EndpointStatus, res: Response): Promise<Response> {
    if (!res.ok) throw new Error(`encoder ${ep.url} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
    this.verifyPack(ep, res.headers.get(HEADERS.pack), Number(res.headers.get(HEADERS.dim)));
    return res;
  }

  private headers(extra: Record<string, string>): Record<string, string> {
    return { ...extra, ...(this.settings.token ? { authorization: `Bearer ${this.settings.token}` } : {}) };
  }

  private async encodeTexts(ep: EndpointStatus, texts: readonly string[], priority: Priority, signal: AbortSignal): Promise<Float32Array[]> {
    const body: TextRequest = { texts: [...texts], priority };
    const res = await this.answer(
      ep,
      await fetch(`${ep.url}${PATHS.text}`, {
        method: 'POST',
        headers: this.headers({ 'content-type': 'application/json' }),
        body: JSON.stringify(body),
        signal,
      }),
    );
    const { embeddings } = textResponseSchema.parse(await res.json());
    if (embeddings.length !== texts.length || embeddings.some((v) => v.length !== this.local.text.dim))
      throw new Error(`encoder ${ep.url} answered malformed embeddings`);
    return embeddings.map((v) => Float32Array.from(v));
  }

  private async encodeImages(ep: EndpointStatus, images: readonly PixelTensor[], priority: Priority, signal: AbortSignal): Promise<Float32Array[]> {
    const size = this.local.image.preprocessing.size;
    const res = await this.answer(
      ep,
      await fetch(`${ep.url}${PATHS.image}`, {
        method: 'POST',
        headers: this.headers({ 'content-type': 'application/octet-stream', [HEADERS.imageSize]: String(size), [HEADERS.priority]: priority }),
        body: floatsToBuffer(images.map((t) => t.data)),
        signal,
      }),
    );
    const out = Buffer.from(await res.arrayBuffer());
    if (out.length !== images.length * this.local.image.dim * 4) throw new Error(`encoder ${ep.url} answered ${out.length} bytes for ${images.length} images`);
    return bufferToFloats(out, images.length);
  }
}
