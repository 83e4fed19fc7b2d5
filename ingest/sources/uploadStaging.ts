import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pairedMovies } from '../../src/video/livePhotos';

export interface UploadedFile {
  name: string;
  data: Buffer;
  /** The product's id for this photo. */
  externalId?: string | undefined;
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
    await writeFile(file, f.data);
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
