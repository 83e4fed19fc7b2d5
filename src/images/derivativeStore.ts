import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UUID_RE } from '../util/ids';

/**
 * ocr: a grey JPEG at OCR resolution, kept only until OCR has read it; video: the movie of an uploaded or
 * downloaded video or Live Photo, kept so it can play (folder videos play from their folder).
 */
export type DerivativeKind = 'thumbnail' | 'preview' | 'ocr' | 'video';

const KINDS: DerivativeKind[] = ['thumbnail', 'preview', 'ocr', 'video'];
/** What versions before per-image files stored, by content. */
const LEGACY_KINDS: DerivativeKind[] = ['thumbnail', 'preview'];

/**
 * JPEG derivatives on disk, one set per image id. Previews are what re-indexing under a new model
 * pack reads, so uploads and URLs need not be kept whole. Keyed by image, not by content: two images
 * with the same bytes (two owners, or two external ids) share no file, so deleting or replacing one
 * can never touch the other's.
 */
export class DerivativeStore {
  /** Shard folders known to exist: saves a mkdir per file. */
  private readonly folders = new Set<string>();

  constructor(private readonly root: string) {}

  pathFor(kind: DerivativeKind, imageId: string): string {
    if (!UUID_RE.test(imageId)) throw new Error('invalid image id');
    return path.join(this.root, kind, imageId.slice(0, 2), `${imageId}.${kind === 'video' ? 'video' : 'jpg'}`);
  }

  has(kind: DerivativeKind, imageId: string): boolean {
    return existsSync(this.pathFor(kind, imageId));
  }

  /** Writes (or replaces, when the image got new bytes) one derivative. */
  async put(kind: DerivativeKind, imageId: string, data: Buffer): Promise<void> {
    const file = this.pathFor(kind, imageId);
    const folder = path.dirname(file);
    if (!this.folders.has(folder)) {
      await mkdir(folder, { recursive: true });
      this.folders.add(folder);
    }
    // Write-then-rename: readers never see a half-written file, even after a crash.
    const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, data);
    await rename(tmp, file);
  }

  read(kind: DerivativeKind, imageId: string): Promise<Buffer> {
    return readFile(this.pathFor(kind, imageId));
  }

  /** Removes every derivative of an image. */
  async remove(kind: DerivativeKind, imageId: string): Promise<void> {
    await rm(this.pathFor(kind, imageId), { force: true });
  }

  async removeAll(imageId: string): Promise<void> {
    await Promise.all(KINDS.map((kind) => rm(this.pathFor(kind, imageId), { force: true })));
  }

  /**
   * Moves a data folder written by versions that stored derivatives by sha256 to per-image files:
   * each image gets its own hard link, then the content-named files go. Idempotent; done once.
   */
  async migrateFromContentKeys(images: AsyncIterable<{ id: string; sha256: string }[]>): Promise<number> {
    const marker = path.join(this.root, '.per-image');
    if (existsSync(marker) || !LEGACY_KINDS.some((k) => existsSync(path.join(this.root, k)))) {
      await mkdir(this.root, { recursive: true });
      await writeFile(marker, '');
      return 0;
    }
    let moved = 0;
    for await (const page of images) {
      for (const { id, sha256 } of page) {
        for (const kind of LEGACY_KINDS) {
          const legacy = path.join(this.root, kind, sha256.slice(0, 2), `${sha256}.jpg`);
          const target = this.pathFor(kind, id);
          if (!existsSync(legacy) || existsSync(target)) continue;
          await mkdir(path.dirname(target), { recursive: true });
          await link(legacy, target);
          moved++;
        }
      }
    }
    for (const kind of LEGACY_KINDS) {
      const dir = path.join(this.root, kind);
      if (!existsSync(dir)) continue;
      for (const shard of await readdir(dir)) {
        for (const f of await readdir(path.join(dir, shard))) if (/^[0-9a-f]{64}\.jpg$/.test(f)) await rm(path.join(dir, shard, f), { force: true });
      }
    }
    await writeFile(marker, '');
    return moved;
  }
}

/** The store under `root`, with files an older version named by content moved to per-image names first. */
export async function openDerivativeStore(
  root: string,
  images: { contentKeys(): AsyncIterable<{ id: string; sha256: string }[]> },
  log: { info(obj: object, msg: string): void },
): Promise<DerivativeStore> {
  const store = new DerivativeStore(root);
  const moved = await store.migrateFromContentKeys(images.contentKeys());
  if (moved) log.info({ files: moved }, 'moved derivative files to per-image names');
  return store;
}
