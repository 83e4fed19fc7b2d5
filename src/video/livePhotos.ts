import { existsSync } from 'node:fs';
import path from 'node:path';
import { IMAGE_EXTENSIONS } from '../images/decode';

/** What a Live Photo's movie is saved as, beside its still (IMG_0001.HEIC + IMG_0001.MOV). */
const MOTION_EXTENSIONS = ['.mov', '.mp4'];

const stem = (name: string) => name.slice(0, name.length - path.extname(name).length).toLowerCase();

/**
 * Movies that belong to a still of the same name in the same list: a Live Photo, one asset whose movie
 * becomes the still's segments. The content identifier both halves carry would pair them even when
 * renamed; iOS exports and photo-sync tools keep the names, which is what is matched here.
 */
export function pairedMovies(names: readonly string[]): Map<string, string> {
  const stills = new Map<string, string>();
  for (const n of names) if (IMAGE_EXTENSIONS.has(path.extname(n).toLowerCase())) stills.set(stem(n), n);
  const pairs = new Map<string, string>();
  for (const n of names) {
    const still = MOTION_EXTENSIONS.includes(path.extname(n).toLowerCase()) ? stills.get(stem(n)) : undefined;
    if (still) pairs.set(n, still);
  }
  return pairs;
}

/** The movie beside a still, when there is one. */
export function motionBeside(stillFile: string): string | null {
  if (!IMAGE_EXTENSIONS.has(path.extname(stillFile).toLowerCase())) return null;
  const base = stillFile.slice(0, stillFile.length - path.extname(stillFile).length);
  for (const ext of MOTION_EXTENSIONS) for (const e of [ext, ext.toUpperCase()]) if (existsSync(base + e)) return base + e;
  return null;
}
