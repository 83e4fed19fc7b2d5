import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { WatchedFolderRow, WatchRepository } from '../../src/db/repositories';
import { AppError } from '../../src/errors/appError';
import type { Logger } from '../../src/util/logger';
import type { FolderAccess } from '../sources/folderAccess';
import type { ScanReport } from './folderScan';

export interface WatcherSettings {
  /** Quiet time after the last file event before a folder is scanned. */
  debounceMs: number;
  /** Every folder is rescanned this often anyway: network and FUSE file systems may send no events. */
  rescanMs: number;
  /** Poll instead of using inotify (file systems without events). */
  usePolling: boolean;
}

export interface LibraryWatcherDeps {
  watches: WatchRepository;
  scan(folder: WatchedFolderRow): Promise<ScanReport>;
  folders: FolderAccess;
  settings: WatcherSettings;
  log: Logger;
}

/**
 * Keeps watched library folders in sync: chokidar reports changes, which schedule a scan of the folder
 * (debounced, one scan per folder at a time), and a periodic rescan plus one at start catch up with
 * whatever happened while nobody was watching.
 */
export class LibraryWatcher {
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly debounce = new Map<string, NodeJS.Timeout>();
  private readonly scans = new Map<string, Promise<ScanReport | null>>();
  private periodic: NodeJS.Timeout | null = null;
  private started = false;

  constructor(private readonly deps: LibraryWatcherDeps) {}

  /** Watches every registered folder and scans each once (the catch-up after a restart). */
  async start(): Promise<void> {
    this.started = true;
    const folders = await this.deps.watches.list(undefined);
    for (const f of folders) this.follow(f);
    this.periodic = setInterval(() => void this.scanAll(), this.deps.settings.rescanMs);
    this.periodic.unref();
    await this.scanAll();
  }

  /** Registers a folder under an ingest root for an owner and scans it now. */
  async register(owner: string, folder: string, albums: string[], externalIdPrefix?: string): Promise<{ folder: WatchedFolderRow; scan: ScanReport }> {
    const real = await this.deps.folders.resolve(folder, { owner, operator: true });
    if (await this.deps.watches.findByPath(owner, real)) throw new AppError('already_watched', `${folder} is already watched for ${owner}`);
    const id = randomUUID();
    const row = await this.deps.watches.create({ owner, path: real, albums, externalIdPrefix: externalIdPrefix ?? `watch:${id}/` });
    if (this.started) this.follow(row);
    const scan = await this.scanNow(row.id);
    return { folder: row, scan: scan! };
  }

  /** Stops watching; the images ingested from the folder stay in the library. */
  async unregister(id: string, owner: string | undefined): Promise<boolean> {
    const row = await this.deps.watches.find(id, owner);
    if (!row) return false;
    await this.unfollow(id);
    await this.scans.get(id);
    await this.deps.watches.remove(id);
    return true;
  }

  /** Stops watching every folder of an owner (the first step of purging it); returns how many. */
  async unregisterOwner(owner: string): Promise<number> {
    const rows = await this.deps.watches.list(owner);
    for (const r of rows) await this.unregister(r.id, owner);
    return rows.length;
  }

  /** Scans a folder now (after any scan in progress); null when the folder is no longer registered. */
  scanNow(id: string): Promise<ScanReport | null> {
    const previous = this.scans.get(id) ?? Promise.resolve(null);
    const next = previous
      .catch(() => null)
      .then(async () => {
        const row = await this.deps.watches.find(id, undefined);
        if (!row) {
          await this.unfollow(id);
          return null;
        }
        return this.deps.scan(row);
      });
    this.scans.set(id, next);
    void next
      .finally(() => {
        if (this.scans.get(id) === next) this.scans.delete(id);
      })
      .catch(() => undefined);
    return next;
  }

  /** Resolves when no scan is scheduled or running (tests, shutdown). */
  async settle(): Promise<void> {
    while (this.debounce.size || this.scans.size) {
      await Promise.all([...this.scans.values()].map((p) => p.catch(() => null)));
      if (this.debounce.size && !this.scans.size) await new Promise((r) => setTimeout(r, this.deps.settings.debounceMs / 2));
    }
  }

  async stop(): Promise<void> {
    this.started = false;
    if (this.periodic) clearInterval(this.periodic);
    for (const t of this.debounce.values()) clearTimeout(t);
    this.debounce.clear();
    await Promise.all([...this.watchers.keys()].map((id) => this.unfollow(id)));
    await Promise.all([...this.scans.values()].map((p) => p.catch(() => null)));
  }

  private async scanAll(): Promise<void> {
    for (const f of await this.deps.watches.list(undefined)) await this.scanLogged(f.id);
  }

  private async scanLogged(id: string): Promise<void> {
    try {
      const report = await this.scanNow(id);
      if (report && (report.added || report.changed || report.removed || report.renamed)) this.deps.log.info(report, 'watched folder synced');
    } catch (e) {
      this.deps.log.warn({ folder: id, err: (e as Error).message }, 'watched folder scan failed; the next one retries');
    }
  }

  private follow(row: WatchedFolderRow): void {
    if (this.watchers.has(row.id)) return;
    const w = watch(row.path, {
      ignoreInitial: true,
      followSymlinks: false,
      usePolling: this.deps.settings.usePolling,
      ignored: (p: string) => path.basename(p).startsWith('.') && p !== row.path,
      // A photo still being copied is scanned once it stops growing.
      awaitWriteFinish: { stabilityThreshold: Math.min(500, this.deps.settings.debounceMs), pollInterval: 100 },
    });
    w.on('all', () => this.schedule(row.id));
    w.on('error', (e) => this.deps.log.warn({ folder: row.id, err: (e as Error).message }, 'folder watcher error'));
    this.watchers.set(row.id, w);
  }

  private async unfollow(id: string): Promise<void> {
    clearTimeout(this.debounce.get(id));
    this.debounce.delete(id);
    const w = this.watchers.get(id);
    this.watchers.delete(id);
    await w?.close();
  }

  private schedule(id: string): void {
    clearTimeout(this.debounce.get(id));
    const t = setTimeout(() => {
      this.debounce.delete(id);
      void this.scanLogged(id);
    }, this.deps.settings.debounceMs);
    t.unref();
    this.debounce.set(id, t);
  }
}
