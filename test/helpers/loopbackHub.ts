/**
 * A Hugging Face-compatible hub on loopback: the revision API (a branch names a commit, and every
 * `add` is a new commit on main), the tree API (paged, with LFS sha256s and git blob ids), `resolve/`
 * redirecting LFS files to a file store, Range requests, the hub's X-Error-Code answers (a missing
 * repository is a 401 to anonymous callers), gated repositories, and faults on demand.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RepoFiles } from './hubRepos';

export interface HubFaults {
  /** Paths whose first download stops halfway through (the connection drops). */
  dropOnce?: Set<string>;
  /** Paths served shorter than the listing says, however often they are asked for. */
  truncate?: Set<string>;
  /** Paths whose listed sha256 is not that of the bytes served. */
  wrongChecksum?: Set<string>;
  /** The first this-many API requests to the repository answer 429 with this Retry-After (seconds). */
  tooManyRequests?: { count: number; retryAfterSeconds: number };
}

export interface HubRepoOptions {
  faults?: HubFaults;
  /** Gated: only this token may read it. */
  token?: string;
}

export interface LoopbackHub {
  endpoint: string;
  /** Every request line with its Range header and when it came, for assertions. */
  requests: { url: string; range?: string | undefined; at: number; authorization?: string | undefined }[];
  /** Adds the repository, or a new commit of it that main then points at; returns the commit. */
  add(repo: string, files: RepoFiles, faults?: HubFaults, options?: Omit<HubRepoOptions, 'faults'>): string;
  close(): Promise<void>;
}

const isLfs = (p: string) => /\.onnx|\.extra_file|_data$|\.bin$|\.weight$/.test(p);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const gitOid = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
const PAGE = 4;

interface Repo {
  commits: Map<string, RepoFiles>;
  main: string;
  faults: HubFaults;
  token?: string | undefined;
  refusedSoFar: number;
}

export async function startLoopbackHub(): Promise<LoopbackHub> {
  const repos = new Map<string, Repo>();
  const store = new Map<string, { data: Buffer; dropOnce: boolean; truncate: boolean }>();
  const requests: LoopbackHub['requests'] = [];

  const send = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
  };

  const serveBytes = (req: http.IncomingMessage, res: http.ServerResponse, blob: { data: Buffer; dropOnce: boolean; truncate: boolean }) => {
    const data = blob.truncate ? blob.data.subarray(0, Math.floor(blob.data.length / 2)) : blob.data;
    const range = req.headers.range?.match(/^bytes=(\d+)-$/);
    const start = range ? Number(range[1]) : 0;
    if (start >= data.length && start > 0) {
      res.writeHead(416, { 'content-range': `bytes */${data.length}` }).end();
      return;
    }
    const body = data.subarray(start);
    res.writeHead(range ? 206 : 200, {
      'content-length': body.length,
      'accept-ranges': 'bytes',
      ...(range ? { 'content-range': `bytes ${start}-${data.length - 1}/${data.length}` } : {}),
    });
    if (blob.dropOnce) {
      blob.dropOnce = false;
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.destroy());
      return;
    }
    res.end(body);
  };

  /** The hub's answers for a repository it will not show: what huggingface.co sends, X-Error-Code included. */
  const refuse = (res: http.ServerResponse, repo: Repo | undefined, auth: string | undefined): boolean => {
    if (auth && repo?.token && auth !== `Bearer ${repo.token}`) {
      send(res, 401, { error: 'Invalid credentials in Authorization header' }, { 'x-error-message': 'Invalid credentials in Authorization header' });
      return true;
    }
    if (!repo) {
      // Anonymous callers cannot tell a missing repository from a private one: both are 401.
      send(res, auth ? 404 : 401, { error: 'Repository not found' }, { 'x-error-code': 'RepoNotFound', 'x-error-message': 'Repository not found' });
      return true;
    }
    if (repo.token && auth !== `Bearer ${repo.token}`) {
      send(res, 401, { error: 'Access to this model is restricted' }, { 'x-error-code': 'GatedRepo' });
      return true;
    }
    const limited = repo.faults.tooManyRequests;
    if (limited && repo.refusedSoFar < limited.count) {
      repo.refusedSoFar++;
      send(res, 429, { error: 'Too many requests' }, { 'retry-after': String(limited.retryAfterSeconds) });
      return true;
    }
    return false;
  };

  const commitOf = (repo: Repo, revision: string) => (revision === 'main' ? repo.main : repo.commits.has(revision) ? revision : undefined);

  const server = http.createServer((req, res) => {
    const auth = req.headers.authorization;
    requests.push({ url: req.url ?? '', range: req.headers.range, at: Date.now(), authorization: auth });
    const url = new URL(req.url ?? '/', 'http://hub');
    const api = url.pathname.match(/^\/api\/models\/([^/]+\/[^/]+)\/(revision|tree)\/([^/]+)$/);
    if (api) {
      const repo = repos.get(api[1]!);
      if (refuse(res, repo, auth)) return;
      const commit = commitOf(repo!, decodeURIComponent(api[3]!));
      if (!commit) return send(res, 404, { error: 'Revision not found' }, { 'x-error-code': 'RevisionNotFound' });
      if (api[2] === 'revision') return send(res, 200, { id: api[1], sha: commit }, { 'x-repo-commit': commit });
      const files = repo!.commits.get(commit)!;
      const entries = [...files].map(([p, data]) => {
        const listed = repo!.faults.wrongChecksum?.has(p) ? Buffer.concat([data, Buffer.from('x')]) : data;
        return isLfs(p)
          ? {
              type: 'file',
              path: p,
              size: data.length,
              oid: gitOid(Buffer.from(`pointer ${p}`)),
              lfs: { oid: sha256(listed), size: data.length, pointerSize: 134 },
            }
          : { type: 'file', path: p, size: data.length, oid: gitOid(listed) };
      });
      const dirs = [...new Set([...files.keys()].filter((p) => p.includes('/')).map((p) => p.split('/')[0]!))].map((d) => ({
        type: 'directory',
        path: d,
        size: 0,
        oid: gitOid(Buffer.from(d)),
      }));
      const all = [...dirs, ...entries];
      const cursor = Number(url.searchParams.get('cursor') ?? 0);
      const page = all.slice(cursor, cursor + PAGE);
      if (cursor + PAGE < all.length) {
        const next = new URL(url.toString());
        next.searchParams.set('cursor', String(cursor + PAGE));
        res.setHeader('link', `<http://${req.headers.host}${next.pathname}${next.search}>; rel="next"`);
      }
      return send(res, 200, page);
    }
    const resolve = url.pathname.match(/^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/);
    if (resolve) {
      const repo = repos.get(resolve[1]!);
      if (refuse(res, repo, auth)) return;
      const commit = commitOf(repo!, decodeURIComponent(resolve[2]!));
      if (!commit) return send(res, 404, { error: 'Revision not found' }, { 'x-error-code': 'RevisionNotFound' });
      const file = decodeURIComponent(resolve[3]!);
      const data = repo!.commits.get(commit)!.get(file);
      if (!data) return send(res, 404, { error: 'Entry not found' }, { 'x-error-code': 'EntryNotFound' });
      if (isLfs(file)) {
        // The hub answers LFS files with a redirect to its file store, as the real one does.
        res.writeHead(302, { location: `/store/${resolve[1]!.replace('/', '--')}/${sha256(data)}`, 'x-repo-commit': commit }).end();
        return;
      }
      return serveBytes(req, res, { data, dropOnce: false, truncate: false });
    }
    const blob = url.pathname.match(/^\/store\/([^/]+)\/([0-9a-f]{64})$/);
    const stored = blob ? store.get(`${blob[1]}/${blob[2]}`) : undefined;
    if (stored) return serveBytes(req, res, stored);
    send(res, 404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let commits = 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    add(name, files, faults = {}, options = {}) {
      const commit = createHash('sha1').update(`${name}\0${++commits}`).digest('hex');
      const repo = repos.get(name) ?? { commits: new Map(), main: commit, faults, token: options.token, refusedSoFar: 0 };
      repo.commits.set(commit, files);
      repo.main = commit;
      repo.faults = faults;
      repo.token = options.token;
      repos.set(name, repo);
      for (const [p, data] of files) {
        if (isLfs(p))
          store.set(`${name.replace('/', '--')}/${sha256(data)}`, {
            data,
            dropOnce: faults.dropOnce?.has(p) ?? false,
            truncate: faults.truncate?.has(p) ?? false,
          });
      }
      return commit;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
