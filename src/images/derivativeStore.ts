import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export type DerivativeKind = 'thumbnail' | 'preview';

/**
 * Content-addressed JPEG derivatives on disk (by sha256 of the original). Previews are what
 * re-indexing under a new model pack reads, so uploads and URLs need not be kept whole.
 */
export class DerivativeStore {
  /** Shard folders known to exist: saves a mkdir per file. */
  private readonly folders = new Set<string>();

  constructor(private readonly root: string) {}

  pathFor(kind: DerivativeKind, sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error('invalid sha256');
    return path.join(this.root, kind, sha256.slice(0, 2), `${sha256}.jpg`);
  }

  has(kind: DerivativeKind, sha256: string): boolean {
    return existsSync(this.pathFor(kind, sha256));
  }

  async put(kind: DerivativeKind, sha256: string, data: Buffer): Promise<void> {
    const file = this.pathFor(kind, sha256);
    if (existsSync(file)) return;
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

  read(kind: DerivativeKind, sha256: string): Promise<Buffer> {
    return readFile(this.pathFor(kind, sha256));
  }

  async remove(kind: DerivativeKind, sha256: string): Promise<void> {
    await rm(this.pathFor(kind, sha256), { force: true });
  }
}
