import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

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
 * any other: files are `<n>-<original name>` in a folder named after the job.
 */
export async function stageUploads(stagingDir: string, jobId: string, files: readonly UploadedFile[]): Promise<string[]> {
  const dir = path.join(stagingDir, jobId);
  await mkdir(dir, { recursive: true });
  const sources: string[] = [];
  for (const [i, f] of files.entries()) {
    const file = path.join(dir, `${i}-${sanitizeName(f.name)}`);
    await writeFile(file, f.data);
    sources.push(file);
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
