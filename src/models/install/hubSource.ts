import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { fileDigest, sha256File } from '../manifest';
import { ModelInstallError } from './errors';
import type { FetchProgress, PackSource, SourceFile } from './packSource';

export interface HubOptions {
  /** The hub's base URL (MODELS_ENDPOINT): the Hugging Face hub or a mirror of its API. */
  endpoint: string;
  repo: string;
  revision: string;
  /** Partial downloads live here between runs, so an interrupted install resumes. */
  cacheDir: string;
  token?: string | undefined;
  /** Attempts per file; each resumes where the last one stopped. */
  attempts?: number;
  retryDelayMs?: number;
}

interface TreeEntry {
  type: string;
  path: string;
  size: number;
  oid?: string;
  lfs?: { oid: string; size: number };
}

const nextLink = (link: string | null): string | undefined => link?.match(/<([^>]+)>;\s*rel="next"/)?.[1];

const sizeOf = (file: string) => stat(file).then((s) => s.size, () => 0);

/**
 * A repository on a Hugging Face-compatible hub: the tree API lists files with sizes and LFS
 * sha256s; `resolve/` serves them (usually by redirect to a file store), honouring Range requests.
 */
export class HubSource implements PackSource {
  readonly label: string;
  private readonly attempts: number;
  private readonly retryDelayMs: number;

  constructor(private readonly opts: HubOptions) {
    this.label = `${opts.repo}@${opts.revision} on ${opts.endpoint}`;
    this.attempts = opts.attempts ?? 5;
    this.retryDelayMs = opts.retryDelayMs ?? 1000;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.opts.token ? { authorization: `Bearer ${this.opts.token}` } : {}), ...extra };
  }

  private url(suffix: string): string {
    return `${this.opts.endpoint.replace(/\/+$/, '')}/${suffix}`;
  }

  async list(): Promise<SourceFile[]> {
    const { repo, revision } = this.opts;
    let url: string | undefined = this.url(`api/models/${repo}/tree/${encodeURIComponent(revision)}?recursive=true`);
    const files: SourceFile[] = [];
    while (url) {
      let res: Response;
      try {
        res = await fetch(url, { headers: this.headers() });
      } catch (e) {
        throw new ModelInstallError(`cannot reach ${this.opts.endpoint} to list ${repo}: ${(e as Error).message}`);
      }
      if (res.status === 404) throw new ModelInstallError(`${repo} (revision ${revision}) was not found on ${this.opts.endpoint}`);
      if (res.status === 401 || res.status === 403) throw new ModelInstallError(`${repo} needs access on ${this.opts.endpoint} (HTTP ${res.status}): set HF_TOKEN`);
      if (!res.ok) throw new ModelInstallError(`listing ${repo} failed: HTTP ${res.status}`);
      const entries = (await res.json()) as TreeEntry[];
      if (!Array.isArray(entries)) throw new ModelInstallError(`listing ${repo} did not return a file list`);
      for (const e of entries) {
        if (e.type !== 'file') continue;
        files.push({ path: e.path, size: e.lfs?.size ?? e.size, sha256: e.lfs?.oid, gitOid: e.lfs ? undefined : e.oid });
      }
      url = nextLink(res.headers.get('link'));
    }
    return files;
  }

  private partFile(file: SourceFile): string {
    return path.join(this.opts.cacheDir, this.opts.repo.replace(/[^\w.-]+/g, '--'), this.opts.revision.replace(/[^\w.-]+/g, '--'), `${file.path}.part`);
  }

  async fetch(file: SourceFile, dest: string, onProgress?: (p: FetchProgress) => void): Promise<void> {
    const part = this.partFile(file);
    await mkdir(path.dirname(part), { recursive: true });
    // A part file longer than the listing belongs to other content (the repository changed): start over.
    if ((await sizeOf(part)) > file.size) await rm(part);
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < this.attempts && (await sizeOf(part)) < file.size; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, this.retryDelayMs * attempt));
      try {
        await this.downloadOnce(file, part, onProgress);
        lastError = undefined;
      } catch (e) {
        if (e instanceof ModelInstallError) throw e;
        lastError = e as Error;
      }
    }
    const have = await sizeOf(part);
    if (have !== file.size) {
      // A shorter part file stays for the next run to resume.
      throw new ModelInstallError(`${file.path} from ${this.opts.repo}: got ${have} of ${file.size} bytes${lastError ? ` (${lastError.message})` : ''}`);
    }
    await this.verify(file, part);
    await mkdir(path.dirname(dest), { recursive: true });
    await rename(part, dest);
  }

  private async downloadOnce(file: SourceFile, part: string, onProgress?: (p: FetchProgress) => void): Promise<void> {
    const have = await sizeOf(part);
    const url = this.url(`${this.opts.repo}/resolve/${encodeURIComponent(this.opts.revision)}/${file.path.split('/').map(encodeURIComponent).join('/')}`);
    // fetch follows the hub's redirect to its file store; the Range header goes along.
    const res = await fetch(url, { headers: this.headers(have > 0 ? { range: `bytes=${have}-` } : {}), redirect: 'follow' });
    if (res.status === 404) throw new ModelInstallError(`${this.opts.repo} lists ${file.path} but the hub does not serve it (HTTP 404)`);
    if (res.status === 401 || res.status === 403) throw new ModelInstallError(`${file.path} needs access (HTTP ${res.status}): set HF_TOKEN`);
    if (res.status === 416) throw new ModelInstallError(`${file.path} from ${this.opts.repo}: the hub serves only ${have} of the ${file.size} bytes its listing promises (truncated file)`);
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status} for ${url}`);
    const resumed = res.status === 206;
    if (resumed) {
      const start = Number(res.headers.get('content-range')?.match(/bytes (\d+)-/)?.[1] ?? -1);
      if (start !== have) throw new Error(`asked to resume at byte ${have}, the server sent from ${start}`);
    } else if (have > 0) {
      await truncate(part, 0);
    }
    let received = resumed ? have : 0;
    let lastReport = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        const now = Date.now();
        if (onProgress && (now - lastReport > 1000 || received === file.size)) {
          lastReport = now;
          onProgress({ file: file.path, received, total: file.size });
        }
        done(null, chunk);
      },
    });
    const body = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
    await pipeline(body, counter, createWriteStream(part, { flags: resumed ? 'a' : 'w' }));
  }

  /** LFS files against their sha256, git-stored ones against their blob id: every file is checked. */
  private async verify(file: SourceFile, part: string): Promise<void> {
    let expected: string | undefined;
    let actual: string | undefined;
    if (file.sha256) {
      expected = file.sha256;
      actual = await sha256File(part);
    } else if (file.gitOid) {
      expected = file.gitOid;
      actual = await fileDigest(part, 'sha1', Buffer.from(`blob ${file.size}\0`));
    }
    if (expected !== undefined && actual !== expected) {
      await rm(part, { force: true });
      throw new ModelInstallError(`checksum mismatch for ${file.path} from ${this.opts.repo}: the hub lists ${expected}, the download has ${actual}`);
    }
  }
}
