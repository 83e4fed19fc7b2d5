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
  /** A branch, tag or commit; every file of one install comes from the commit it pointed at when listed. */
  revision: string;
  /** Partial downloads live here between runs, so an interrupted install resumes. */
  cacheDir: string;
  token?: string | undefined;
  /** Attempts per request (listing) and per file (each resumes where the last one stopped). */
  attempts?: number;
  /** First wait between attempts; it doubles, and a server's Retry-After wins when longer. */
  retryDelayMs?: number;
  /** Says who is asked, for messages: "the vocabulary repository (MODELS_VOCAB_REPO)". */
  role?: string;
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

/** A failure worth another try: the network, or the hub saying "later" (429, 5xx). */
class Transient extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** Retry-After in seconds or as an HTTP date. */
function retryAfterMs(res: Response): number | undefined {
  const v = res.headers.get('retry-after');
  if (!v) return undefined;
  const secs = Number(v);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * A repository on a Hugging Face-compatible hub: the revision API names the commit a branch points at,
 * the tree API lists that commit's files with sizes and LFS sha256s, and `resolve/<commit>/` serves them
 * (usually by redirect to a file store), honouring Range requests. The hub's X-Error-Code header says
 * what a 401 or 404 means; 429 and 5xx are retried with backoff, after Retry-After when given.
 */
export class HubSource implements PackSource {
  readonly label: string;
  private readonly attempts: number;
  private readonly retryDelayMs: number;
  private commit: string | null = null;

  constructor(private readonly opts: HubOptions) {
    this.label = `${opts.repo}@${opts.revision} on ${opts.endpoint}`;
    this.attempts = opts.attempts ?? 5;
    this.retryDelayMs = opts.retryDelayMs ?? 1000;
  }

  /** The commit this install reads, once listed. */
  get revision(): string {
    return this.commit ?? this.opts.revision;
  }

  private get who(): string {
    return this.opts.role ? `${this.opts.repo} (${this.opts.role})` : this.opts.repo;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.opts.token ? { authorization: `Bearer ${this.opts.token}` } : {}), ...extra };
  }

  private url(suffix: string): string {
    return `${this.opts.endpoint.replace(/\/+$/, '')}/${suffix}`;
  }

  /** What a refusal means, in the hub's own terms (X-Error-Code) where it gives them. */
  private refusal(res: Response, what: string): ModelInstallError | Transient {
    const code = res.headers.get('x-error-code');
    const message = res.headers.get('x-error-message') ?? '';
    const on = `on ${this.opts.endpoint}`;
    if (res.status === 429 || res.status >= 500) return new Transient(`${what}: HTTP ${res.status}`, retryAfterMs(res));
    if (code === 'GatedRepo')
      return new ModelInstallError(`${this.who} is gated ${on}: accept its terms on its page with your account, then set HF_TOKEN (or run hf auth login)`);
    if (/invalid credentials/i.test(message) || (res.status === 401 && this.opts.token && code !== 'RepoNotFound'))
      return new ModelInstallError(`${on} refused the token (HTTP ${res.status}${message ? `: ${message}` : ''}): check HF_TOKEN`);
    if (code === 'RevisionNotFound') return new ModelInstallError(`${this.who} has no revision ${this.opts.revision} ${on}`);
    if (code === 'EntryNotFound') return new ModelInstallError(`${this.who} lists ${what} but the hub does not serve it (HTTP ${res.status})`);
    if (res.status === 401 || res.status === 403 || code === 'RepoNotFound') {
      // The hub answers 401 for a missing repository and for a private or gated one alike, to anonymous callers.
      const hint = this.opts.token ? 'check the name' : 'check the name, or set HF_TOKEN if it is private or gated';
      return new ModelInstallError(`${this.who} was not found ${on} (HTTP ${res.status}), or it is private or gated: ${hint}`);
    }
    if (res.status === 404) return new ModelInstallError(`${this.who} was not found ${on} (HTTP 404)`);
    return new ModelInstallError(`${what} failed: HTTP ${res.status}`);
  }

  /** Runs `attempt` until it succeeds, retrying transient failures with doubling waits (at least Retry-After). */
  private async withRetries<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    let last: Error | undefined;
    for (let i = 0; i < this.attempts; i++) {
      try {
        return await attempt();
      } catch (e) {
        if (e instanceof ModelInstallError) throw e;
        last = e as Error;
        if (i + 1 < this.attempts) await new Promise((r) => setTimeout(r, Math.max(this.retryDelayMs * 2 ** i, (e as Transient).retryAfterMs ?? 0)));
      }
    }
    throw new ModelInstallError(`${what} failed after ${this.attempts} attempts: ${last?.message ?? 'unknown error'}`);
  }

  private async get(url: string, what: string): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(url, { headers: this.headers() });
    } catch (e) {
      throw new Transient(`cannot reach ${this.opts.endpoint}: ${(e as Error).message}`);
    }
    if (!res.ok) throw this.refusal(res, what);
    return res;
  }

  /** The commit the revision points at, so a branch that moves during the install cannot mix two versions. */
  private async resolveCommit(): Promise<string> {
    const { repo, revision } = this.opts;
    if (/^[0-9a-f]{40}$/.test(revision)) return revision;
    const what = `resolving ${repo}@${revision}`;
    return this.withRetries(what, async () => {
      const res = await this.get(this.url(`api/models/${repo}/revision/${encodeURIComponent(revision)}`), what);
      const sha = ((await res.json()) as { sha?: unknown }).sha;
      if (typeof sha !== 'string' || !/^[0-9a-f]{40}$/.test(sha)) throw new ModelInstallError(`${what}: the hub did not name a commit`);
      return sha;
    });
  }

  async list(): Promise<SourceFile[]> {
    const { repo } = this.opts;
    this.commit = await this.resolveCommit();
    let url: string | undefined = this.url(`api/models/${repo}/tree/${this.commit}?recursive=true`);
    const files: SourceFile[] = [];
    while (url) {
      const page: string = url;
      const what = `listing ${this.who}`;
      const { entries, next } = await this.withRetries(what, async () => {
        const res = await this.get(page, what);
        const body = (await res.json());
        if (!Array.isArray(body)) throw new ModelInstallError(`${what} did not return a file list`);
        return { entries: body as TreeEntry[], next: nextLink(res.headers.get('link')) };
      });
      for (const e of entries) {
        if (e.type !== 'file') continue;
        files.push({ path: e.path, size: e.lfs?.size ?? e.size, sha256: e.lfs?.oid, gitOid: e.lfs ? undefined : e.oid });
      }
      url = next;
    }
    return files;
  }

  private partFile(file: SourceFile): string {
    return path.join(this.opts.cacheDir, this.opts.repo.replace(/[^\w.-]+/g, '--'), this.revision.replace(/[^\w.-]+/g, '--'), `${file.path}.part`);
  }

  async fetch(file: SourceFile, dest: string, onProgress?: (p: FetchProgress) => void): Promise<void> {
    const part = this.partFile(file);
    await mkdir(path.dirname(part), { recursive: true });
    // A part file longer than the listing belongs to other content: start over.
    if ((await sizeOf(part)) > file.size) await rm(part);
    if ((await sizeOf(part)) < file.size || file.size === 0) {
      await this.withRetries(`${file.path} from ${this.opts.repo}`, async () => {
        await this.downloadOnce(file, part, onProgress);
        const have = await sizeOf(part);
        if (have < file.size) throw new Transient(`the connection ended at ${have} of ${file.size} bytes`);
      }).catch((e: Error) => {
        // A shorter part file stays for the next run to resume.
        throw e instanceof ModelInstallError && e.message.includes(file.path) ? e : new ModelInstallError(`${file.path} from ${this.opts.repo}: ${e.message}`);
      });
    }
    const have = await sizeOf(part);
    if (have !== file.size) throw new ModelInstallError(`${file.path} from ${this.opts.repo}: got ${have} of ${file.size} bytes`);
    await this.verify(file, part);
    await mkdir(path.dirname(dest), { recursive: true });
    await rename(part, dest);
  }

  private async downloadOnce(file: SourceFile, part: string, onProgress?: (p: FetchProgress) => void): Promise<void> {
    const have = await sizeOf(part);
    const url = this.url(`${this.opts.repo}/resolve/${encodeURIComponent(this.revision)}/${file.path.split('/').map(encodeURIComponent).join('/')}`);
    let res: Response;
    try {
      // fetch follows the hub's redirect to its file store; the Range header goes along.
      res = await fetch(url, { headers: this.headers(have > 0 ? { range: `bytes=${have}-` } : {}), redirect: 'follow' });
    } catch (e) {
      throw new Transient(`cannot reach ${this.opts.endpoint}: ${(e as Error).message}`);
    }
    if (res.status === 416) throw new ModelInstallError(`${file.path} from ${this.opts.repo}: the hub serves only ${have} of the ${file.size} bytes its listing promises (truncated file)`);
    if (!res.ok || !res.body) throw res.ok ? new Transient(`no body for ${url}`) : this.refusal(res, file.path);
    const resumed = res.status === 206;
    if (resumed) {
      const start = Number(res.headers.get('content-range')?.match(/bytes (\d+)-/)?.[1] ?? -1);
      if (start !== have) throw new Transient(`asked to resume at byte ${have}, the server sent from ${start}`);
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
    try {
      await pipeline(body, counter, createWriteStream(part, { flags: resumed ? 'a' : 'w' }));
    } catch (e) {
      throw new Transient(`the download broke off: ${(e as Error).message}`);
    }
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
