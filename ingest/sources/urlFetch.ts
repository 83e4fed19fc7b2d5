import { AppError } from '../../src/errors/appError';
import http from 'node:http';
import https from 'node:https';
import { guardedLookup, parseFetchableUrl, refuseLiteralPrivateHost, UrlNotAllowed } from '../../src/net/addressGuard';

export class UrlFetchFailed extends AppError {
  constructor(message: string) {
    super('url_fetch_failed', message);
  }
}

export interface UrlFetchOptions {
  timeoutMs: number;
  maxBytes: number;
  maxRedirects?: number;
  /** For tests against loopback servers only. */
  allowPrivate?: boolean;
}

async function requestOnce(url: URL, opts: UrlFetchOptions, signal: AbortSignal): Promise<{ status: number; location?: string; body?: Buffer; type?: string }> {
  if (!opts.allowPrivate) refuseLiteralPrivateHost(url);
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.get(
      url,
      { lookup: guardedLookup(opts.allowPrivate ?? false), signal, headers: { 'user-agent': 'imagesearch-ingest/0.1', accept: 'image/*' } },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && res.headers.location) {
          res.resume();
          return resolve({ status, location: res.headers.location });
        }
        if (status !== 200) {
          res.resume();
          return reject(new UrlFetchFailed(`${url.host} answered HTTP ${status}`));
        }
        const declared = Number(res.headers['content-length'] ?? 0);
        if (declared > opts.maxBytes) {
          res.destroy();
          return reject(new UrlFetchFailed(`image is ${declared} bytes; the limit is ${opts.maxBytes}`));
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > opts.maxBytes) {
            res.destroy();
            reject(new UrlFetchFailed(`image exceeds the limit of ${opts.maxBytes} bytes`));
          } else chunks.push(c);
        });
        res.on('end', () => resolve({ status, body: Buffer.concat(chunks), type: String(res.headers['content-type'] ?? '') }));
        res.on('error', reject);
      },
    );
    req.on('error', (e) =>
      reject(e instanceof UrlNotAllowed || e instanceof UrlFetchFailed ? e : new UrlFetchFailed(`fetching ${url.host} failed: ${e.message}`)),
    );
  });
}

/** Fetches an image over http(s), refusing private addresses, oversize bodies and slow servers. */
export async function fetchImageUrl(raw: string, opts: UrlFetchOptions): Promise<Buffer> {
  let url = parseFetchableUrl(raw);
  const signal = AbortSignal.timeout(opts.timeoutMs);
  for (let hop = 0; hop <= (opts.maxRedirects ?? 3); hop++) {
    const res = await requestOnce(url, opts, signal).catch((e: Error) => {
      if (signal.aborted) throw new UrlFetchFailed(`fetching ${url.host} timed out after ${opts.timeoutMs} ms`);
      throw e;
    });
    if (res.location) {
      url = parseFetchableUrl(new URL(res.location, url).toString());
      continue;
    }
    if (res.type && !/^(image\/|application\/octet-stream)/i.test(res.type)) {
      throw new UrlFetchFailed(`${url.host} sent ${res.type.split(';')[0]}, not an image`);
    }
    return res.body ?? Buffer.alloc(0);
  }
  throw new UrlFetchFailed('too many redirects');
}
