import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PendingCalls } from '../util/workerThread';
import type { ImagePreprocessing } from '../models/preprocess';
import type { AnimatedFrame, FrameSampling } from './animatedFrames';
import { ImageRejected, type DecodedImage, type DecodeLimits } from './decode';
import type { DecodeReply, DecodeRequest, DecodeResults, DecodeTask } from './decodeProcess';

const ENTRY = path.join(__dirname, `decodeProcess${path.extname(__filename)}`);

interface Slot {
  child: ChildProcess;
  /** Ids of the calls this process has in hand. */
  inFlight: Set<number>;
  /** The call the watchdog killed this process for, once it has. */
  stuck?: number;
}

/** Decode processes stopped right now, in any pool: they must not outlive the parent stopped. */
const stopped = new Set<ChildProcess>();
let continueOnExit = false;

function stopChild(child: ChildProcess): void {
  if (!continueOnExit) {
    continueOnExit = true;
    // A stopped child cannot see its channel close; continued, it does and exits (see decodeProcess.ts).
    process.on('exit', () => stopped.forEach((c) => c.kill('SIGCONT')));
  }
  if (child.kill('SIGSTOP')) stopped.add(child);
}

function continueChild(child: ChildProcess): void {
  if (stopped.delete(child)) child.kill('SIGCONT');
}

/** A call lost because its process was killed for taking too long (on it, or on another image it had). */
class DecodeInterrupted extends Error {
  constructor(readonly timedOut: boolean) {
    super(timedOut ? 'decoding took too long' : 'a decode process was stopped for another image');
  }
}

/**
 * Child processes that decode images. On the main thread the Pillow-exact resize (JavaScript, 10-50 ms
 * a photo) and the copies of full-size pixels held every request behind them; and sharp's decoding runs
 * on threads a process shares, so only a process of its own can run ingest's decoding niced (measured:
 * with worker threads, two thirds of decode CPU ran at the searches' priority). Only the file goes in
 * and small results come back. Work goes to the process with the fewest images in hand; a process that
 * dies fails only the images it had (the caller sees an error, not a rejected image: its job stops and
 * resumes) and is replaced on the next image.
 *
 * A process that holds an image longer than `timeoutMs` is killed: libvips has been seen to hang
 * for good inside its thread pool (every thread waiting, no CPU), and a hung decode would stall its
 * job forever. Its images are decoded again on a fresh process; an image that times out twice is
 * rejected, so one that really takes that long cannot stop a job over and over.
 */
export class DecodePool {
  private slots: (Slot | null)[];
  private readonly pending = new PendingCalls<DecodeResults[DecodeTask['op']]>();
  private closed = false;
  private paused = false;

  constructor(
    processes: number,
    private readonly nice: number | null,
    private readonly timeoutMs = 120_000,
  ) {
    // Started on the first image: a process that never ingests (a CLI, a service that only searches) pays nothing.
    this.slots = Array.from({ length: processes }, () => null);
  }

  private spawn(index: number): Slot {
    // Under tsx or jest the sources are TypeScript: the child registers tsx's hook before loading its entry.
    const execArgv = ENTRY.endsWith('.ts') ? ['--require', require.resolve('tsx/cjs')] : [];
    const child = fork(ENTRY, this.nice === null ? [] : [String(this.nice)], {
      execArgv,
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const slot: Slot = { child, inFlight: new Set() };
    // Only images in hand keep the parent alive: an idle pool must not hold a finished CLI or test open.
    child.unref();
    child.channel?.unref();
    child.on('message', (m: DecodeReply) => {
      slot.inFlight.delete(m.id);
      if (slot.inFlight.size === 0) child.channel?.unref();
      this.pending.settle(m.id, 'error' in m ? { error: m.reason ? new ImageRejected(m.reason, m.error) : new Error(m.error) } : { value: m.value });
    });
    child.on('exit', (code, signal) => {
      stopped.delete(child);
      if (this.slots[index] === slot) this.slots[index] = null;
      const why = new Error(this.closed ? 'the decode pool is closed' : `a decode process stopped (${signal ?? `exit ${code}`}) while decoding`);
      for (const id of slot.inFlight)
        this.pending.settle(id, { error: slot.stuck === undefined || this.closed ? why : new DecodeInterrupted(id === slot.stuck) });
    });
    // A failed send shows as the process's exit; the error event alone must not crash the parent.
    child.on('error', () => undefined);
    this.slots[index] = slot;
    if (this.paused) stopChild(child);
    return slot;
  }

  /**
   * Stops every process where it is (SIGSTOP), images in hand and all, until resume(): ingest's decoding
   * steps aside while a search encodes. Niced, it still took the search's text tower from 19 to 30 ms
   * p50 and from 24 to 50 ms p95 here (caches and memory the cores share); stopped, it costs nothing.
   * Whoever pauses must resume soon: a pause holds the watchdog's clock running.
   */
  pause(): void {
    if (this.paused || this.closed) return;
    this.paused = true;
    for (const slot of this.slots) if (slot) stopChild(slot.child);
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    for (const slot of this.slots) if (slot) continueChild(slot.child);
  }

  /** The encoder's tensor, the preview and thumbnail, and OCR's input when `limits.ocrSide` asks for it. */
  async decode(data: Buffer, prep: ImagePreprocessing, limits: DecodeLimits): Promise<DecodedImage> {
    // Plain fields only: the manifest's preprocessing object may carry more than a child needs.
    const { size, resize, interpolation, mean, std } = prep;
    const image = await this.call({ op: 'image', data, prep: { size, resize, interpolation, mean, std }, limits });
    // Buffers arrive as plain Uint8Arrays from a child.
    return {
      ...image,
      preview: Buffer.from(image.preview),
      thumbnail: Buffer.from(image.thumbnail),
      ...(image.ocrInput ? { ocrInput: Buffer.from(image.ocrInput) } : {}),
    };
  }

  /** OCR's input alone, of `maxSide` px at most (HEIC decodes for seconds: never on the main thread). */
  async ocrInput(data: Buffer, maxSide: number, limits: DecodeLimits): Promise<Buffer> {
    return Buffer.from(await this.call({ op: 'ocrInput', data, maxSide, limits }));
  }

  /** An animated GIF's or WebP's picked frames (see sampleAnimation): every frame is decoded to pick them. */
  async animationFrames(data: Buffer, delaysMs: number[], sampling: FrameSampling, maxPixels: number): Promise<AnimatedFrame[]> {
    const frames = await this.call({ op: 'frames', data, delaysMs, sampling, maxPixels });
    return frames.map((f) => ({ ...f, png: Buffer.from(f.png) }));
  }

  private async call<O extends DecodeTask['op']>(task: Extract<DecodeTask, { op: O }>): Promise<DecodeResults[O]> {
    // Only this image's own timeouts count: being in hand when another image's process was killed does not.
    let timeouts = 0;
    for (;;) {
      try {
        // The child answers a task with its own op's result.
        return (await this.send(task)) as DecodeResults[O];
      } catch (e) {
        if (!(e instanceof DecodeInterrupted)) throw e;
        if (e.timedOut && ++timeouts === 2) {
          throw new ImageRejected('corrupt', `decoding did not finish within ${this.timeoutMs} ms, twice; the image is left out`);
        }
      }
    }
  }

  private send(task: DecodeTask): Promise<DecodeResults[DecodeTask['op']]> {
    if (this.closed) return Promise.reject(new Error('the decode pool is closed'));
    const load = (i: number) => this.slots[i]?.inFlight.size ?? 0;
    const index = this.slots.reduce((best, _, i) => (load(i) < load(best) ? i : best), 0);
    const slot = this.slots[index] ?? this.spawn(index);
    const { id, result } = this.pending.open();
    slot.inFlight.add(id);
    slot.child.channel?.ref();
    slot.child.send({ ...task, id } satisfies DecodeRequest);
    const watchdog = setTimeout(() => {
      if (!slot.inFlight.has(id) || slot.stuck !== undefined) return;
      slot.stuck = id;
      // No new image goes to it while it dies; its exit hands back the ones it had.
      if (this.slots[index] === slot) this.slots[index] = null;
      slot.child.kill('SIGKILL');
    }, this.timeoutMs);
    watchdog.unref();
    return result.finally(() => clearTimeout(watchdog));
  }

  /** Starts the processes now rather than on the first image: for query images, whose first search would wait for it. */
  warm(): void {
    this.slots.forEach((slot, i) => slot ?? this.spawn(i));
  }

  /** The running decode processes (started by the first images, or by warm()). */
  processIds(): number[] {
    return this.slots.flatMap((slot) => (slot?.child.pid ? [slot.child.pid] : []));
  }

  async close(): Promise<void> {
    // A stopped process would hold its SIGTERM until continued.
    this.resume();
    this.closed = true;
    await Promise.all(
      this.slots.map(async (slot) => {
        if (!slot || slot.child.exitCode !== null || slot.child.signalCode !== null) return;
        const exited = new Promise((resolve) => slot.child.once('exit', resolve));
        slot.child.kill();
        await exited;
      }),
    );
    this.pending.failAll(new Error('the decode pool is closed'));
  }
}
