import { copyFile, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pairedMovies } from '../../src/video/livePhotos';

/** An uploaded file: in memory, or spooled to disk as it arrived (see uploadSpool), where staging moves it from. */
export type UploadedFile = {
  name: string;
  /** The product's id for this photo. */
  externalId?: string | undefined;
} & ({ data: Buffer } | { spooled: string });

/** Where the API writes ingest uploads as they arrive: beside the staging folders, so staging is a rename. */
export function uploadSpool(stagingDir: string): string {
  return path.join(stagingDir, 'incoming');
}

/** Removes spooled files left by a process that stopped while receiving them (older than any upload in flight). */
export async function sweepUploadSpool(stagingDir: string, olderThanMs = 3_600_000): Promise<number> {
  const dir = uploadSpool(stagingDir);
  const cutoff = Date.now() - olderThanMs;
  let removed = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const file = path.join(dir, name);
    const modified = (await stat(file).catch(() => null))?.mtimeMs;
    if (modified === undefined || modified >= cutoff) continue;
    await rm(file, { force: true });
    removed++;
  }
  return removed;
}

async function move(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (e) {
    // DATA_DIR's folders on two file systems.
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    await copyFile(from, to);
    await rm(from, { force: true });
  }
}

function sanitizeName(name: string): string {
  const base = path
    .basename(name)
    .replace(/[^\p{L}\p{N}._-]+/gu, '_')
    .slice(-120);
  return base || 'upload';
}

/**
 * Uploads are written to the staging folder before the job runs, so a job survives a restart like
 * any other: files are `<n>-<original name>` in a folder named after the job. A Live Photo's movie sent
 * with its still is staged beside it under the still's number and gets no item of its own: the still's
 * item reads it (see livePhotos.ts). Returns each item's file and the index of the upload it came from.
 */
export async function stageUploads(stagingDir: string, jobId: string, files: readonly UploadedFile[]): Promise<{ source: string; index: number }[]> {
  const dir = path.join(stagingDir, jobId);
  await mkdir(dir, { recursive: true });
  const names = files.map((f) => sanitizeName(f.name));
  const movies = pairedMovies(names);
  const sources: { source: string; index: number }[] = [];
  for (const [i, f] of files.entries()) {
    const still = movies.get(names[i]!);
    const file = path.join(dir, `${still !== undefined ? names.indexOf(still) : i}-${names[i]}`);
    await ('spooled' in f ? move(f.spooled, file) : writeFile(file, f.data));
    if (still === undefined) sources.push({ source: file, index: i });
  }
  return sources;
}

export async function dropStagedUploads(stagingDir: string, jobId: string): Promise<void> {
  await rm(path.join(stagingDir, jobId), { recursive: true, force: true });
}

/** Staged uploads are stored as `<n>-<original name>`; the original name is what users know. */
export function uploadName(stagedPath: string): string {
  const base = stagedPath.split(/[\\/]/).pop() ?? stagedPath;
  return base.replace(/^\d+-/, '');
}
