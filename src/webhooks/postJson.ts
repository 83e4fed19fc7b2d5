import http from 'node:http';
import https from 'node:https';
import { guardedLookup, parseFetchableUrl, refuseLiteralPrivateHost } from '../net/addressGuard';

export interface PostOptions {
  timeoutMs: number;
  /** Loopback and private receivers (tests, a product on the same host). */
  allowPrivate: boolean;
}

/** POSTs a JSON body; resolves with the HTTP status (the response body is read and dropped), rejects on network errors. */
export function postJson(rawUrl: string, body: string, headers: Record<string, string>, opts: PostOptions): Promise<number> {
  const url = parseFetchableUrl(rawUrl);
  if (!opts.allowPrivate) refuseLiteralPrivateHost(url);
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      url,
      {
        method: 'POST',
        lookup: guardedLookup(opts.allowPrivate),
        signal: AbortSignal.timeout(opts.timeoutMs),
        headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'imagesearch-webhooks/0.1' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
