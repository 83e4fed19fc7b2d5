import type { ImageStage, ImageTask } from '../../../src/stages/imageStages';
import { PermanentFailure } from '../../../src/stages/workQueue';

/** A stage a test registers: records what it ran, can be slow, fail, or be told which version it is. */
export class ProbeStage implements ImageStage {
  readonly name = 'probe';
  readonly background = true;
  readonly runs: ImageTask[] = [];
  /** Images whose every attempt fails (retryable) / fails for good. */
  readonly flaky = new Map<string, number>();
  readonly broken = new Set<string>();

  constructor(
    public currentVersion: string,
    public delayMs = 0,
    readonly settings = { retryBaseMs: 50, retryMaxMs: 200, pollMs: 100 },
  ) {}

  version(): string {
    return this.currentVersion;
  }

  async run(task: ImageTask): Promise<void> {
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.broken.has(task.imageId)) throw new PermanentFailure('this image cannot be probed');
    const left = this.flaky.get(task.imageId) ?? 0;
    if (left > 0) {
      this.flaky.set(task.imageId, left - 1);
      throw new Error('probe store away');
    }
    this.runs.push(task);
  }
}
