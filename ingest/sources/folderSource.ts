import { AppError } from '../../src/errors/appError';
import type { Dirent } from 'node:fs';
import { opendir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { IMAGE_EXTENSIONS } from '../../src/images/decode';
import { VIDEO_EXTENSIONS } from '../../src/video/videoFormat';
import { RAW_EXTENSIONS } from '../../src/raw/rawPreview';
import { pairedMovies } from '../../src/video/livePhotos';

/** The folder is outside every allowed ingest root (or reaches out of one through `..` or a symlink). */
export class PathNotAllowed extends AppError {
  constructor(message: string) {
    super('path_not_allowed', message);
  }
}

export class PathNotFound extends AppError {
  constructor(message: string) {
    super('not_found', message);
  }
}

/** The path is the parent or lies below it. */
export function within(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(path.sep) ? parent : parent + path.sep);
}

/**
 * Resolves a requested folder against the allowed roots. Relative paths are taken from the
 * first root. The check is made on the real path, so symlinks cannot lead outside a root.
 */
export async function resolveIngestFolder(requested: string, roots: readonly string[]): Promise<string> {
  if (roots.length === 0) throw new PathNotAllowed('folder ingest is disabled: no INGEST_ROOTS are configured');
  if (requested.includes('\0')) throw new PathNotAllowed('invalid path');
  if (requested.split(/[\\/]/).includes('..')) throw new PathNotAllowed("'..' is not allowed in ingest paths");
  const candidate = path.isAbsolute(requested) ? path.resolve(requested) : path.resolve(roots[0]!, requested);
  let real: string;
  try {
    real = await realpath(candidate);
  } catch {
    throw new PathNotFound(`folder not found: ${requested}`);
  }
  const realRoots = await Promise.all(roots.map((r) => realpath(r).catch(() => null)));
  if (!realRoots.some((r) => r !== null && within(real, r))) {
    throw new PathNotAllowed(`${requested} is outside the allowed ingest roots`);
  }
  if (!(await stat(real)).isDirectory()) throw new PathNotFound(`not a folder: ${requested}`);
  return real;
}

/**
 * Photos (camera raw included) and videos under a folder, recursively and in a stable order. Symlinks are not followed
 * (they could point outside the allowed root) and hidden entries are skipped. A Live Photo's movie is
 * not listed: it is read with its still.
 */
export async function* walkImages(dir: string): AsyncIterable<string> {
  const entries: Dirent[] = [];
  for await (const e of await opendir(dir)) entries.push(e);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const motion = pairedMovies(entries.filter((e) => e.isFile()).map((e) => e.name));
  for (const e of entries) {
    if (e.name.startsWith('.') || e.isSymbolicLink()) continue;
    const full = path.join(dir, e.name);
    const ext = path.extname(e.name).toLowerCase();
    if (e.isDirectory()) yield* walkImages(full);
    else if (e.isFile() && (IMAGE_EXTENSIONS.has(ext) || VIDEO_EXTENSIONS.has(ext) || RAW_EXTENSIONS.has(ext)) && !motion.has(e.name)) yield full;
  }
}

/** A file's path inside a folder, "/"-separated on every platform: how external ids name folder files. */
export function relativeName(dir: string, file: string): string {
  return path.relative(dir, file).split(path.sep).join('/');
}
