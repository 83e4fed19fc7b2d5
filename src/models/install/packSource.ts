import { copyFile, mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { ModelInstallError } from './errors';

/** One file of a model repository, as its listing describes it. */
export interface SourceFile {
  /** Path inside the repository, with forward slashes. */
  path: string;
  size: number;
  /** sha256 the source publishes (the hub's LFS oid); absent for small files stored in git. */
  sha256?: string | undefined;
  /** The hub's git blob id (sha1) for files stored in git, which proves their content just as well. */
  gitOid?: string | undefined;
}

export interface FetchProgress {
  file: string;
  received: number;
  total: number;
}

/** Where a model repository's files come from: the hub, a mirror, or a local folder. */
export interface PackSource {
  /** Says where the files come from, for messages. */
  readonly label: string;
  /** The commit the listing came from, once listed (hubs); every file is fetched from it. */
  readonly revision?: string;
  list(): Promise<SourceFile[]>;
  /** Puts the verified file at `dest` (never a partial one). */
  fetch(file: SourceFile, dest: string, onProgress?: (p: FetchProgress) => void): Promise<void>;
}

/** A folder holding a repository's files in any of the supported layouts (MODELS_SOURCE). */
export class FolderSource implements PackSource {
  readonly label: string;

  constructor(private readonly root: string) {
    this.label = root;
  }

  async list(): Promise<SourceFile[]> {
    const out: SourceFile[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (e) {
        throw new ModelInstallError(`cannot read the model folder ${dir}: ${(e as Error).message}`);
      }
      for (const e of entries) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) await walk(full);
        else if (e.isFile()) out.push({ path: path.relative(this.root, full).split(path.sep).join('/'), size: (await stat(full)).size });
      }
    };
    await walk(this.root);
    return out;
  }

  async fetch(file: SourceFile, dest: string): Promise<void> {
    await mkdir(path.dirname(dest), { recursive: true });
    await copyFile(path.join(this.root, file.path), dest);
  }
}
