import { readFile, stat } from 'node:fs/promises';
import type { DerivativeStore } from '../../src/images/derivativeStore';
import { ImageRejected } from '../../src/images/decode';
import { fetchImageUrl, type UrlFetchOptions } from './urlFetch';

export type ItemKind = 'folder' | 'upload' | 'url' | 'reindex';

export interface ReaderOptions {
  maxBytes: number;
  url: UrlFetchOptions;
  derivatives: DerivativeStore;
}

/** Bytes of one ingest item: a file (folder or staged upload), a URL, or a stored preview (reindex, by image id). */
export async function readItem(kind: ItemKind, source: string, opts: ReaderOptions): Promise<Buffer> {
  switch (kind) {
    case 'url':
      return fetchImageUrl(source, opts.url);
    case 'reindex':
      return opts.derivatives.read('preview', source);
    case 'folder':
    case 'upload': {
      const { size } = await stat(source);
      if (size > opts.maxBytes) throw new ImageRejected('too_large', `file is ${size} bytes; the limit is ${opts.maxBytes}`);
      return readFile(source);
    }
  }
}
