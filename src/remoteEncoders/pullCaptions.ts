import type { StageTaskRepository } from '../db/repositories';
import { AppError } from '../errors/appError';
import type { DerivativeStore } from '../images/derivativeStore';
import { CAPTION_STAGE, storeCaption, type CaptionRepos } from '../search/captionStage';

export interface PullCaptionSettings {
  /** A leased image not answered within this goes back to the queue. */
  leaseMs: number;
  /** A worker that asked within this is connected: this process's caption stage leaves the images to it. */
  presenceMs: number;
  /** Wait before an image a worker could not caption is offered again. */
  retryMs: number;
  /** Tries before an image is given up (the stage's STAGE_MAX_ATTEMPTS). */
  maxAttempts: number;
}

/** Who holds a caption task a pull worker leased (any worker with the service's captioner may answer it). */
const HOLDER = 'pull-worker';

/**
 * Captions made by pull workers (`npm run encoder` with SERVICE_URL and a captioner pack): a 2B VLM
 * belongs on a GPU box, not on the service's cores. While a worker with this service's captioner has asked
 * within `presenceMs`, the local caption stage steps aside; the worker leases the stage's tasks from the same
 * table one image at a time (its preview goes out, the caption comes back), so backfill, counts in job
 * status and re-captioning after a captioner change work as for the local stage, and a worker that goes
 * away leaves its images to the local stage when their leases run out.
 */
export class PullCaptions {
  private lastSeen = 0;

  constructor(
    private readonly captioner: () => string | null,
    private readonly tasks: StageTaskRepository,
    private readonly repos: CaptionRepos,
    private readonly derivatives: Pick<DerivativeStore, 'read'>,
    private readonly settings: PullCaptionSettings,
  ) {}

  /** Whether a worker asked for captions recently. */
  connected(): boolean {
    return Date.now() - this.lastSeen < this.settings.presenceMs;
  }

  async lease(workerCaptioner: string): Promise<{ imageId: string; captioner: string; expiresInSeconds: number; preview: string } | null> {
    const captioner = this.check(workerCaptioner);
    for (;;) {
      const [task] = await this.tasks.claim(CAPTION_STAGE, 1, this.settings.leaseMs, HOLDER);
      if (!task) return null;
      if (task.version !== captioner) {
        // Queued for a captioner the service no longer runs: the local stage's next backfill requeues it.
        await this.tasks.release(CAPTION_STAGE, [task.imageId]);
        return null;
      }
      const preview = await this.derivatives.read('preview', task.imageId).catch(() => null);
      if (preview) return { imageId: task.imageId, captioner, expiresInSeconds: Math.floor(this.settings.leaseMs / 1000), preview: preview.toString('base64') };
      await this.tasks.settle(CAPTION_STAGE, task, HOLDER, { state: 'failed', error: 'the image has no preview to caption' });
    }
  }

  /** A worker's caption, or its reason for none; accepted while the lease holds (false: it went elsewhere). */
  async answer(imageId: string, body: { captioner: string; text?: string; original?: string | null; error?: string }): Promise<boolean> {
    const captioner = this.check(body.captioner);
    const task = await this.tasks.leased(CAPTION_STAGE, imageId, HOLDER);
    if (!task || task.version !== captioner) return false;
    if (body.text === undefined) {
      const error = body.error ?? 'no caption';
      const outcome =
        task.attempts + 1 >= this.settings.maxAttempts
          ? ({ state: 'failed', error } as const)
          : ({ state: 'retry', error, dueAt: new Date(Date.now() + this.settings.retryMs) } as const);
      await this.tasks.settle(CAPTION_STAGE, task, HOLDER, outcome);
      return true;
    }
    await storeCaption(this.repos, imageId, captioner, { text: body.text, score: null, original: body.original ?? null });
    await this.tasks.settle(CAPTION_STAGE, task, HOLDER, { state: 'done' });
    return true;
  }

  private check(workerCaptioner: string): string {
    this.lastSeen = Date.now();
    const captioner = this.captioner();
    if (captioner !== workerCaptioner) {
      this.lastSeen = 0;
      throw new AppError(
        'captioner_mismatch',
        captioner
          ? `this service captions with ${captioner}; the worker has ${workerCaptioner}`
          : 'this service has no captioner pack (npm run models:fetch -- --captioner)',
      );
    }
    return captioner;
  }
}
