import type { ImageDeletion } from './imageDeletion';

export interface OwnerPurgeDeps {
  /** Stops watching the owner's library folders, so no scan brings images back. */
  removeWatches(owner: string): Promise<number>;
  /** Cancels the owner's unfinished jobs, waits until none runs, and deletes all its jobs. */
  purgeJobs(owner: string): Promise<number>;
  deletion: ImageDeletion;
  /** Removes the owner's texts from the image-to-text corpus. */
  removeTexts(owner: string): Promise<number>;
  /** Removes the owner's webhook subscriptions and their delivery logs. */
  removeWebhooks(owner: string): Promise<number>;
  /** Removes the owner's settings (its time zone). */
  removeSettings(owner: string): Promise<number>;
}

export interface OwnerPurgeReport {
  owner: string;
  images: number;
  texts: number;
  jobs: number;
  webhooks: number;
  watches: number;
}

/**
 * Everything of one owner goes: watched folders and jobs first (so no batch in flight writes images back), then every
 * image (hidden at once; vectors, unshared files, rows and cached captions after), then its texts.
 * Then its webhook subscriptions, undelivered events included (global subscriptions still hear of the
 * deletes), and its settings. Idempotent: a second run finds nothing. API keys are left to `npm run keys -- revoke`.
 */
export async function purgeOwner(deps: OwnerPurgeDeps, owner: string): Promise<OwnerPurgeReport> {
  const watches = await deps.removeWatches(owner);
  const jobs = await deps.purgeJobs(owner);
  const images = await deps.deletion.deleteOwner(owner);
  const texts = await deps.removeTexts(owner);
  const webhooks = await deps.removeWebhooks(owner);
  await deps.removeSettings(owner);
  return { owner, images, texts, jobs, webhooks, watches };
}
