import path from 'node:path';
import type { WatchedFolderRow } from '../../src/db/repositories';
import { PathNotAllowed, PathNotFound, resolveIngestFolder, within } from './folderSource';

/** Who asks to read a folder of the server's disk. */
export interface FolderReader {
  owner: string;
  /** An operator key: anywhere under INGEST_ROOTS. Otherwise an owner's key: its own folder only. */
  operator: boolean;
}

export interface FolderAccessSettings {
  ingestRoots: readonly string[];
  /** Owners' own folders: INGEST_TENANT_ROOT/<owner>; null: owners' keys read no folder. */
  tenantRoot: string | null;
}

/**
 * Which folders a caller may have ingested. The operator reads anywhere under INGEST_ROOTS. An owner's key
 * reads only under its own folder (INGEST_TENANT_ROOT/<owner>), and never a folder that is, holds or lies
 * inside a folder watched for another owner, so no tenant copies another's library into its own.
 */
export class FolderAccess {
  constructor(
    private readonly settings: FolderAccessSettings,
    private readonly watches: { list(owner: string | undefined): Promise<WatchedFolderRow[]> },
  ) {}

  /** The owner's own folder, or null when owners have none. */
  ownerRoot(owner: string): string | null {
    if (!this.settings.tenantRoot) return null;
    const root = path.join(this.settings.tenantRoot, owner);
    // Owner names are checked where they enter, but '.' or '..' here would name another folder.
    return path.dirname(root) === this.settings.tenantRoot && path.basename(root) === owner ? root : null;
  }

  /** The real path of the folder, once the reader may read it; relative paths start at the reader's first root. */
  async resolve(folder: string, reader: FolderReader): Promise<string> {
    if (reader.operator) return resolveIngestFolder(folder, this.settings.ingestRoots);
    const root = this.ownerRoot(reader.owner);
    if (!root) throw new PathNotAllowed("folder ingest with an owner's key needs INGEST_TENANT_ROOT (each owner's own folder under it)");
    let dir: string;
    try {
      dir = await resolveIngestFolder(folder, [root]);
    } catch (e) {
      // The owner's folder itself may not exist yet: say so without naming the server's paths.
      if (e instanceof PathNotAllowed && !(await resolveIngestFolder('.', [root]).catch(() => null)))
        throw new PathNotFound(`owner ${reader.owner} has no folder on the server yet`);
      throw e;
    }
    const others = (await this.watches.list(undefined)).filter((w) => w.owner !== reader.owner);
    if (others.some((w) => within(dir, w.path) || within(w.path, dir))) throw new PathNotAllowed(`${folder} holds another owner's library`);
    return dir;
  }
}
