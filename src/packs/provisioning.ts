import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { ModelInstallError } from '../models/install/errors';
import { activePackTarget, installPack, type InstallOptions } from '../models/install/installPack';
import type { Logger } from '../util/logger';
import { InstallProgress, type InstallStatus } from './installProgress';
import type { PackSwitch } from './packSwitch';

export interface ProvisioningDeps {
  switcher: Pick<PackSwitch, 'dir' | 'switchTo'>;
  /** What models:fetch would install with the same settings (callbacks are added here). */
  installOptions: () => Omit<InstallOptions, 'onProgress' | 'onStep' | 'onPlan'>;
  /** Where packs are installed; its `active` link names the pack `npm start` uses. */
  modelsDir: string;
  /** How often the active link is looked at (a models:fetch while the service runs); 0: never. */
  watchMs: number;
  log: Logger;
}

/**
 * The real model without a second command: on a first start (no pack installed) the service serves the
 * test pack and installs the default Chinese-CLIP pack in the background, with the checks models:fetch
 * makes, then switches to it (PackSwitch). Later, a pack made active by models:fetch is switched to the
 * same way. Offline or refused: one log line, and the test pack goes on serving.
 */
export class ModelProvisioning {
  private progress: InstallProgress | null = null;
  private watcher: NodeJS.Timeout | null = null;
  private fetching: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly deps: ProvisioningDeps) {}

  /** The background install's progress, while there is one (null otherwise). */
  get status(): InstallStatus | null {
    return this.progress?.status ?? null;
  }

  fetchInBackground(): void {
    this.fetching ??= this.fetch();
  }

  private async fetch(): Promise<void> {
    const { log } = this.deps;
    let options: ReturnType<ProvisioningDeps['installOptions']>;
    try {
      options = this.deps.installOptions();
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'the real model cannot be fetched with these settings; serving the generated test pack');
      return;
    }
    const progress = new InstallProgress(options.repo);
    this.progress = progress;
    log.info(
      { repo: options.repo, source: options.source.label },
      'no model pack installed: serving the test pack and fetching the real model in the background',
    );
    let lastLog = 0;
    try {
      const installed = await installPack({
        ...options,
        onPlan: (bytes) => progress.planned(bytes),
        onStep: (m) => progress.step(m),
        onProgress: (p) => {
          progress.file(p);
          if (Date.now() - lastLog < 5000 && p.received !== p.total) return;
          lastLog = Date.now();
          const s = progress.status;
          log.info(
            { received: s.receivedBytes, total: s.totalBytes, bytesPerSecond: s.bytesPerSecond, etaSeconds: s.etaSeconds, file: p.file },
            `fetching the real model: ${mb(s.receivedBytes)} of ${mb(s.totalBytes)} MB${s.bytesPerSecond ? `, ${mb(s.bytesPerSecond)} MB/s` : ''}${s.etaSeconds !== null ? `, ${s.etaSeconds} s left` : ''}`,
          );
        },
      });
      // A shutdown during the download leaves the installed pack for the next start.
      if (this.stopped) return;
      progress.to('switching');
      const { pack, reindexJobId } = await this.deps.switcher.switchTo(installed.dir);
      progress.to('ready', { pack, reindexJobId });
    } catch (e) {
      const message = e instanceof ModelInstallError ? e.message : (e as Error).message;
      progress.to('failed', { error: message });
      log.warn(
        `could not fetch the real model (${message}): serving the generated test pack; run npm run models:fetch when the hub can be reached, or set MODELS_AUTO_FETCH=false`,
      );
    }
  }

  /** Switches to the pack the active link names whenever it changes (models:fetch while the service runs). */
  watchActiveLink(): void {
    if (this.deps.watchMs <= 0 || this.watcher) return;
    this.watcher = setInterval(() => void this.followLink(), this.deps.watchMs);
    this.watcher.unref();
  }

  private async followLink(): Promise<void> {
    // A background install switches by itself once it is done.
    const state = this.progress?.status.state;
    if (state === 'downloading' || state === 'installing' || state === 'switching') return;
    const target = await activePackTarget(this.deps.modelsDir);
    if (!target) return;
    const dir = await realpath(path.resolve(this.deps.modelsDir, target)).catch(() => null);
    if (!dir || dir === this.deps.switcher.dir) return;
    await this.deps.switcher.switchTo(dir).catch((e: Error) => this.deps.log.warn({ dir, err: e.message }, 'could not switch to the active model pack'));
  }

  /** Stops watching; a download in progress is not waited for (an interrupted one resumes on the next start). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.watcher) clearInterval(this.watcher);
    this.watcher = null;
  }
}

const mb = (n: number) => (n / 1e6).toFixed(1);
