import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { DerivativeStore } from '../images/derivativeStore';
import { motionBeside } from '../video/livePhotos';
import { sniffVideo } from '../video/videoFormat';

interface Playable {
  id: string;
  mediaType: 'image' | 'video';
  durationMs: number | null;
  sourceKind: string;
  source: string;
}

function whereIs(image: Playable, derivatives: DerivativeStore): string | null {
  const kept = derivatives.pathFor('video', image.id);
  if (existsSync(kept)) return kept;
  if (image.sourceKind !== 'folder') return null;
  if (image.mediaType === 'video') return existsSync(image.source) ? image.source : null;
  return motionBeside(image.source);
}

/**
 * The movie of a video or Live Photo, to play: the copy kept at ingest (uploads, URLs), else the file in
 * its folder (folder ingest keeps no copy). Null when there is none (a still, an animation, a folder file gone).
 */
export async function movieFile(image: Playable, derivatives: DerivativeStore): Promise<{ file: string; mime: string } | null> {
  if (image.durationMs === null) return null;
  const file = whereIs(image, derivatives);
  if (!file) return null;
  const head = Buffer.alloc(64);
  const fd = await open(file, 'r');
  try {
    await fd.read(head, 0, 64, 0);
  } finally {
    await fd.close();
  }
  const mime = sniffVideo(head);
  return mime ? { file, mime } : null;
}
