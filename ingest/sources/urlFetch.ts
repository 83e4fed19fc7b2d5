import { AppError } from '../../src/errors/appError';
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

export class UrlNotAllowed extends AppError {
  constructor(message: string) {
    super(400, 'url_not_allowed', message);
  }
}

export class UrlFetchFailed extends AppError {
  constructor(message: string) {
    super(422, 'url_fetch_failed', message);
  }
}

const blocked = new net.BlockList();
for (const [net4, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  blocked.addSubnet(net4, prefix, 'ipv4');
for (const [net6, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const)
  blocked.addSubnet(net6, prefix, 'ipv6');

/** True for loopback, private, link-local, CGNAT, multicast, documentation and reserved addresses. */
export function isPrivateAddress(address: string): boolean {
  const family = net.isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) return blocked.check(mapped[1]!, 'ipv4');
    return blocked.check(address, 'ipv6');
  }
  return true;
}

export interface UrlFetchOptions {
  timeoutMs: number;
  maxBytes: number;
  maxRedirects?: number;
  /** For tests against loopback servers only. */
  allowPrivate?: boolean;
}

export function parseFetchableUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UrlNotAllowed(`not a valid URL: ${raw.slice(0, 200)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UrlNotAllowed(`only http and https URLs are allowed, not ${url.protocol}`);
  if (url.username || url.password) throw new UrlNotAllowed('URLs with credentials are not allowed');
  return url;
}

/**
 * The address check runs inside the socket's own DNS lookup, so the address connected to is
 * the one that was checked (no DNS-rebinding window between check and connect).
 */
function guardedLookup(allowPrivate: boolean): net.LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { all: true }, (err, addresses) => {
      if (err) return callback(err, '', 4);
      const list = addresses;
      const bad = list.find((a) => isPrivateAddress(a.address));
      if (bad && !allowPrivate) return callback(new UrlNotAllowed(`${hostname} resolves to a private address (${bad.address})`), '', 4);
      const chosen = list[0];
      if (!chosen) return callback(new UrlFetchFailed(`${hostname} has no address`), '', 4);
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      callback(null, chosen.address, chosen.family);
    });
  };
}

function requestOnce(url: URL, opts: UrlFetchOptions, signal: AbortSignal): Promise<{ status: number; location?: string; body?: Buffer; type?: string }> {
  if (net.isIP(url.hostname.replace(/^\[|\]$/g, '')) && isPrivateAddress(url.hostname.replace(/^\[|\]$/g, '')) && !opts.allowPrivate) {
    return Promise.reject(new UrlNotAllowed(`${url.hostname} is a private address`));
  }
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
