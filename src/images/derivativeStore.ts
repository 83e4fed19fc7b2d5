import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UUID_RE } from '../util/ids';
import { processAlive } from '../util/processAlive';

/**
 * ocr: a grey JPEG at OCR resolution, kept only until OCR has read it; video: the movie of an uploaded or
 * downloaded video or Live Photo, kept so it can play (folder videos play from their folder).
 */
export type DerivativeKind = 'thumbnail' | 'preview' | 'ocr' | 'video';

const KINDS: DerivativeKind[] = ['thumbnail', 'preview', 'ocr', 'video'];
/** Files being written, per process, before they are renamed into place. */
const TMP = '.tmp';
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
  /**
   * This process's own folder for files being written (pid and a nonce: a container restarted as pid 1
   * is another process). A process killed mid-write leaves its folder, removed by the next sweep.
   */
  private readonly writing: string;

  constructor(private readonly root: string) {
    this.writing = path.join(root, TMP, `${process.pid}-${randomBytes(4).toString('hex')}`);
  }

  /** Removes what processes that died while writing left (their folders under .tmp); returns how many folders. */
  async sweepDeadWriters(): Promise<number> {
    const own = path.basename(this.writing);
    let swept = 0;
    for (const dir of await readdir(path.join(this.root, TMP)).catch(() => [] as string[])) {
      const pid = Number(dir.split('-')[0]);
      if (dir === own || (Number.isInteger(pid) && pid !== process.pid && processAlive(pid))) continue;
      await rm(path.join(this.root, TMP, dir), { recursive: true, force: true });
      swept++;
    }
    return swept;
  }

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
    if (!this.folders.has(this.writing)) {
      await mkdir(this.writing, { recursive: true });
      this.folders.add(this.writing);
    }
    const tmp = path.join(this.writing, `${path.basename(file)}.${randomBytes(4).toString('hex')}`);
    await writeFile(tmp, data);
    await rename(tmp, file);
  }

  read(kind: DerivativeKind, imageId: string): Promise<Buffer> {
    return readFile(this.pathFor(kind, imageId));
  }

  /** Every file, with the image (or frame) it belongs to, last written before `writtenBefore` (epoch ms; reconcile's orphan check). */
  async *settledFiles(writtenBefore: number): AsyncIterable<{ file: string; imageId: string }> {
    for (const kind of KINDS) {
      for (const shard of await readdir(path.join(this.root, kind)).catch(() => [] as string[])) {
        for (const name of await readdir(path.join(this.root, kind, shard)).catch(() => [] as string[])) {
          const file = path.join(this.root, kind, shard, name);
          const imageId = name.replace(/\.[^.]+$/, '');
          const written = await stat(file).catch(() => null);
          if (UUID_RE.test(imageId) && written && written.mtimeMs < writtenBefore) yield { file, imageId };
        }
      }
    }
  }

  /** Removes one file settledFiles named. */
  async removeFile(file: string): Promise<void> {
    if (!file.startsWith(this.root + path.sep)) throw new Error('not a derivative file');
    await rm(file, { force: true });
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
  const swept = await store.sweepDeadWriters();
  if (swept) log.info({ folders: swept }, 'removed files that processes killed while writing left');
  return store;
}
