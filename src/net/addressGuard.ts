import dns from 'node:dns';
import net from 'node:net';
import { AppError } from '../errors/appError';

/** Outbound requests the service makes on a caller's behalf (image URLs, webhooks) stay off private networks. */
export class UrlNotAllowed extends AppError {
  constructor(message: string) {
    super('url_not_allowed', message);
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
// Besides IPv6's own private ranges, those that embed an IPv4 address a translator or tunnel may reach
// (IPv4-compatible, SIIT, NAT64, Teredo, 6to4): none is routed to loopback here, but a host that has
// such a translator would carry a request to the address they embed.
for (const [net6, prefix] of [
  ['::', 96],
  ['::1', 128],
  ['::ffff:0:0:0', 96],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001::', 32],
  ['2001:db8::', 32],
  ['2002::', 16],
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

/** An IP literal in the URL needs no lookup, so it is checked here. */
export function refuseLiteralPrivateHost(url: URL): void {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (net.isIP(host) && isPrivateAddress(host)) throw new UrlNotAllowed(`${url.hostname} is a private address`);
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
export function guardedLookup(allowPrivate: boolean): net.LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { all: true }, (err, addresses) => {
      if (err) return callback(err, '', 4);
      const list = addresses;
      const bad = list.find((a) => isPrivateAddress(a.address));
      if (bad && !allowPrivate) return callback(new UrlNotAllowed(`${hostname} resolves to a private address (${bad.address})`), '', 4);
      const chosen = list[0];
      if (!chosen) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 4);
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      callback(null, chosen.address, chosen.family);
    });
  };
}
