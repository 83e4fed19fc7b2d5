import { readFile, stat } from 'node:fs/promises';
import type { DerivativeStore } from '../../src/images/derivativeStore';
import { ImageRejected } from '../../src/images/decode';
import { fetchImageUrl, type UrlFetchOptions } from './urlFetch';
import { sniffVideo } from '../../src/video/videoFormat';

export type ItemKind = 'folder' | 'upload' | 'url' | 'reindex';

export interface ReaderOptions {
  /** Per photo. */
  maxBytes: number;
  /** Per video (a Live Photo's movie included). */
  maxVideoBytes: number;
  url: UrlFetchOptions;
  derivatives: DerivativeStore;
}

/** Bytes of one ingest item: a file (folder or staged upload), a URL, or a stored preview (reindex, by image id). */
export async function readItem(kind: ItemKind, source: string, opts: ReaderOptions): Promise<Buffer> {
  if (kind === 'reindex') return opts.derivatives.read('preview', source);
  const ceiling = Math.max(opts.maxBytes, opts.maxVideoBytes);
  let data: Buffer;
  if (kind === 'url') data = await fetchImageUrl(source, { ...opts.url, maxBytes: ceiling });
  else {
    const { size } = await stat(source);
    if (size > ceiling) throw new ImageRejected('too_large', `file is ${size} bytes; the limit is ${ceiling}`);
    data = await readFile(source);
  }
  // Only what turns out to be a video may use the video limit.
  if (data.length > opts.maxBytes && !sniffVideo(data))
    throw new ImageRejected('too_large', `file is ${data.length} bytes; the limit for photos is ${opts.maxBytes}`);
  return data;
}
