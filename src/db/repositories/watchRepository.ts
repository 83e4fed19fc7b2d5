import type { WatchedFile, WatchedFolder } from '../generated/client';
import type { Db } from '../prisma';

export type WatchedFolderRow = WatchedFolder;

export interface FileState {
  relPath: string;
  size: number;
  mtimeMs: number;
  sha256: string;
}

function fileState(f: WatchedFile): FileState {
  return { relPath: f.relPath, size: Number(f.size), mtimeMs: f.mtimeMs, sha256: f.sha256 };
}

/** Watched folders and, per folder, the files its last scan saw. */
export class WatchRepository {
  constructor(private readonly db: Db) {}

  create(w: { owner: string; path: string; albums: string[]; externalIdPrefix: string }): Promise<WatchedFolderRow> {
    return this.db.watchedFolder.create({ data: w });
  }

  findByPath(owner: string, path: string): Promise<WatchedFolderRow | null> {
    return this.db.watchedFolder.findUnique({ where: { owner_path: { owner, path } } });
  }

  find(id: string, owner: string | undefined): Promise<WatchedFolderRow | null> {
    return this.db.watchedFolder.findFirst({ where: { id, ...(owner !== undefined ? { owner } : {}) } });
  }

  list(owner: string | undefined): Promise<WatchedFolderRow[]> {
    return this.db.watchedFolder.findMany({ where: owner !== undefined ? { owner } : {}, orderBy: { createdAt: 'asc' } });
  }

  async remove(id: string): Promise<void> {
    await this.db.watchedFolder.deleteMany({ where: { id } });
  }

  async removeOwner(owner: string): Promise<string[]> {
    const rows = await this.db.watchedFolder.findMany({ where: { owner }, select: { id: true } });
    await this.db.watchedFolder.deleteMany({ where: { owner } });
    return rows.map((r) => r.id);
  }

  async files(folderId: string): Promise<FileState[]> {
    return (await this.db.watchedFile.findMany({ where: { folderId } })).map(fileState);
  }

  /** Records one scan's findings at once: files seen (new, changed or moved) and files gone. */
  async applyScan(folderId: string, seen: readonly FileState[], gone: readonly string[]): Promise<void> {
    await this.db.$transaction([
      this.db.watchedFile.deleteMany({ where: { folderId, relPath: { in: [...gone] } } }),
      ...seen.map((f) =>
        this.db.watchedFile.upsert({
          where: { folderId_relPath: { folderId, relPath: f.relPath } },
          create: { folderId, ...f, size: BigInt(f.size) },
          update: { size: BigInt(f.size), mtimeMs: f.mtimeMs, sha256: f.sha256 },
        }),
      ),
      this.db.watchedFolder.update({ where: { id: folderId }, data: { lastScanAt: new Date() } }),
    ]);
  }
}
