import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { FileState, ImageRepository, WatchedFolderRow, WatchRepository } from '../../src/db/repositories';
import type { DeletedImage } from '../../src/library/imageDeletion';
import { relativeName, walkImages } from '../sources/folderSource';

export interface ScanDeps {
  watches: WatchRepository;
  imageRows: ImageRepository;
  deleteImages(externalIds: string[], owner: string): Promise<DeletedImage[]>;
  /** Creates and queues a job ingesting these files; returns its id. */
  ingestFiles(owner: string, files: { path: string; externalId: string }[], albums: string[]): Promise<string>;
}

export interface ScanReport {
  folderId: string;
  added: number;
  changed: number;
  removed: number;
  renamed: number;
  /** The job ingesting added and changed files, when there were any. */
  jobId: string | null;
}

async function hashFile(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Brings one owner's library in line with a watched folder by comparing the disk with what the last
 * scan recorded: new and changed files are ingested (a file's external id is the folder's prefix plus
 * its path, so new bytes replace its image), files gone are deleted, and a file that reappears under
 * another path with the same bytes is a rename: its image keeps its id and vector. Safe to repeat
 * after a crash at any point: every step is idempotent and the record is written last.
 */
export async function scanFolder(deps: ScanDeps, folder: WatchedFolderRow): Promise<ScanReport> {
  const onDisk = new Map<string, { size: number; mtimeMs: number; abs: string }>();
  for await (const abs of walkImages(folder.path)) {
    const st = await stat(abs).catch(() => null); // gone since the walk listed it: the next scan sees that
    if (st) onDisk.set(relativeName(folder.path, abs), { size: st.size, mtimeMs: st.mtimeMs, abs });
  }
  const known = new Map((await deps.watches.files(folder.id)).map((f) => [f.relPath, f]));
  const gone = [...known.keys()].filter((p) => !onDisk.has(p));
  const candidates = [...onDisk].filter(([p, s]) => {
    const k = known.get(p);
    return !k || k.size !== s.size || k.mtimeMs !== s.mtimeMs;
  });
  const seen: FileState[] = [];
  for (const [relPath, s] of candidates) {
    const sha256 = await hashFile(s.abs).catch(() => null);
    if (sha256) seen.push({ relPath, size: s.size, mtimeMs: s.mtimeMs, sha256 });
  }

  const goneBySha = new Map<string, string[]>();
  for (const p of gone) goneBySha.set(known.get(p)!.sha256, [...(goneBySha.get(known.get(p)!.sha256) ?? []), p]);
  const ext = (relPath: string) => `${folder.externalIdPrefix}${relPath}`;
  const toIngest: FileState[] = [];
  const moved = new Set<string>();
  let renamed = 0;
  let changed = 0;
  for (const f of seen) {
    const before = known.get(f.relPath);
    if (before) {
      // A touch without new bytes needs nothing but the new record.
      if (before.sha256 !== f.sha256) {
        changed++;
        toIngest.push(f);
      }
      continue;
    }
    const from = goneBySha.get(f.sha256)?.shift();
    if (from !== undefined && (await deps.imageRows.renameExternalId(folder.owner, ext(from), ext(f.relPath), path.join(folder.path, f.relPath)))) {
      moved.add(from);
      renamed++;
    } else toIngest.push(f);
  }
  const removed = gone.filter((p) => !moved.has(p));
  if (removed.length) await deps.deleteImages(removed.map(ext), folder.owner);
  const jobId = toIngest.length
    ? await deps.ingestFiles(
        folder.owner,
        toIngest.map((f) => ({ path: path.join(folder.path, f.relPath), externalId: ext(f.relPath) })),
        folder.albums,
      )
    : null;
  await deps.watches.applyScan(folder.id, seen, gone);
  return { folderId: folder.id, added: toIngest.length - changed, changed, removed: removed.length, renamed, jobId };
}

/** What a watched folder's scan acts through: the library's deletes and ingest's jobs. */
export interface ScanTargets {
  watches: WatchRepository;
  imageRows: ImageRepository;
  deletion: { delete(refs: { externalId: string }[], owner: string): Promise<DeletedImage[]> };
  ingest: { createFileJob(owner: string, files: { path: string; externalId: string }[], albums: string[]): Promise<string>; enqueue(jobId: string): void };
}

/** The scan a LibraryWatcher runs for a folder: removed files deleted by their external ids, new and changed ones queued as a job. */
export function folderScanner(t: ScanTargets): (folder: WatchedFolderRow) => Promise<ScanReport> {
  return (folder) =>
    scanFolder(
      {
        watches: t.watches,
        imageRows: t.imageRows,
        deleteImages: (externalIds, owner) =>
          t.deletion.delete(
            externalIds.map((externalId) => ({ externalId })),
            owner,
          ),
        ingestFiles: async (owner, files, albums) => {
          const jobId = await t.ingest.createFileJob(owner, files, albums);
          t.ingest.enqueue(jobId);
          return jobId;
        },
      },
      folder,
    );
}
