/**
 * A Hugging Face-compatible hub on loopback: the tree API (paged, with LFS sha256s and git blob
 * ids), `resolve/` redirecting LFS files to a file store, Range requests, and faults on demand.
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
}

export interface LoopbackHub {
  endpoint: string;
  /** Every request line with its Range header, for assertions. */
  requests: { url: string; range?: string | undefined }[];
  add(repo: string, files: RepoFiles, faults?: HubFaults): void;
  close(): Promise<void>;
}

const isLfs = (p: string) => /\.onnx|\.extra_file|_data$/.test(p);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const gitOid = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
const PAGE = 4;

export async function startLoopbackHub(): Promise<LoopbackHub> {
  const repos = new Map<string, { files: RepoFiles; faults: HubFaults }>();
  const store = new Map<string, { data: Buffer; dropOnce: boolean; truncate: boolean }>();
  const requests: LoopbackHub['requests'] = [];

  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
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

  const server = http.createServer((req, res) => {
    requests.push({ url: req.url ?? '', range: req.headers.range });
    const url = new URL(req.url ?? '/', 'http://hub');
    const tree = url.pathname.match(/^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)$/);
    if (tree) {
      const repo = repos.get(tree[1]!);
      if (!repo) return send(res, 404, { error: 'Repository not found' });
      const entries = [...repo.files].map(([p, data]) => {
        const listed = repo.faults.wrongChecksum?.has(p) ? Buffer.concat([data, Buffer.from('x')]) : data;
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
      const dirs = [...new Set([...repo.files.keys()].filter((p) => p.includes('/')).map((p) => p.split('/')[0]!))].map((d) => ({
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
      const file = decodeURIComponent(resolve[3]!);
      const data = repo?.files.get(file);
      if (!repo || !data) return send(res, 404, { error: 'Entry not found' });
      if (isLfs(file)) {
        // The hub answers LFS files with a redirect to its file store, as the real one does.
        res.writeHead(302, { location: `/store/${resolve[1]!.replace('/', '--')}/${sha256(data)}` }).end();
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
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    add(repo, files, faults = {}) {
      repos.set(repo, { files, faults });
      for (const [p, data] of files) {
        if (isLfs(p))
          store.set(`${repo.replace('/', '--')}/${sha256(data)}`, {
            data,
            dropOnce: faults.dropOnce?.has(p) ?? false,
            truncate: faults.truncate?.has(p) ?? false,
          });
      }
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
