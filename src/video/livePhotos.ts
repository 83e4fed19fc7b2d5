import { existsSync } from 'node:fs';
import path from 'node:path';
import { IMAGE_EXTENSIONS } from '../images/decode';

/** What a Live Photo's movie is saved as, beside its still (IMG_0001.HEIC + IMG_0001.MOV), in the order looked for. */
const MOTION_EXTENSIONS = ['.mov', '.MOV', '.mp4', '.MP4'];

/** The names a still's movie may have: its own name with a movie extension. */
function motionNames(still: string): string[] {
  const ext = path.extname(still);
  if (!IMAGE_EXTENSIONS.has(ext.toLowerCase())) return [];
  return MOTION_EXTENSIONS.map((e) => still.slice(0, still.length - ext.length) + e);
}

/**
 * Movies that belong to a still of the same name in the same list: a Live Photo, one asset whose movie
 * becomes the still's segments. One rule with motionBeside, so a movie left out of a listing is the one
 * its still's item reads. The content identifier both halves carry would pair them even when renamed;
 * iOS exports and photo-sync tools keep the names, which is what is matched here.
 */
export function pairedMovies(names: readonly string[]): Map<string, string> {
  const listed = new Set(names);
  const pairs = new Map<string, string>();
  for (const n of names) {
    const movie = motionNames(n).find((m) => listed.has(m));
    if (movie) pairs.set(movie, n);
  }
  return pairs;
}

/** The movie beside a still, when there is one. */
export function motionBeside(stillFile: string): string | null {
  return motionNames(stillFile).find((m) => existsSync(m)) ?? null;
}
