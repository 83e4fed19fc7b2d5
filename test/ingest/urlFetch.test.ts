import { fetchImageUrl, UrlFetchFailed } from '../../ingest/sources/urlFetch';
import { isPrivateAddress, UrlNotAllowed } from '../../src/net/addressGuard';
import { serveRoutes } from '../helpers/httpServer';
import { colourImage } from '../helpers/images';

describe('URL fetching for ingest', () => {
  test.each([
    ['127.0.0.1', true],
    ['10.1.2.3', true],
    ['172.20.0.1', true],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['0.0.0.0', true],
    ['224.0.0.1', true],
    ['::1', true],
    ['fe80::1', true],
    ['fd00::1', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:10.0.0.1', true],
    ['::7f00:1', true],
    ['::ffff:0:7f00:1', true],
    ['64:ff9b::7f00:1', true],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', true],
    ['2002:7f00:1::', true],
    ['8.8.8.8', false],
    ['93.184.216.34', false],
    ['2606:4700:4700::1111', false],
    ['not-an-ip', true],
  ])('%s private: %s', (ip, expected) => {
    expect(isPrivateAddress(ip)).toBe(expected);
  });

  const opts = { timeoutMs: 2000, maxBytes: 100_000 };

  test('refuses loopback by name and by address, and other schemes', async () => {
    await expect(fetchImageUrl('http://localhost:1/x.png', opts)).rejects.toThrow(UrlNotAllowed);
    await expect(fetchImageUrl('http://127.0.0.1:1/x.png', opts)).rejects.toThrow(UrlNotAllowed);
    await expect(fetchImageUrl('http://[::1]:1/x.png', opts)).rejects.toThrow(UrlNotAllowed);
    await expect(fetchImageUrl('http://169.254.169.254/latest/meta-data', opts)).rejects.toThrow(UrlNotAllowed);
    await expect(fetchImageUrl('ftp://example.com/x.png', opts)).rejects.toThrow(/only http and https/);
    await expect(fetchImageUrl('gopher://example.com/', opts)).rejects.toThrow(UrlNotAllowed);
  });

  describe('against a loopback server (private addresses allowed for the test only)', () => {
    let server: Awaited<ReturnType<typeof serveRoutes>>;
    let png: Buffer;
    beforeAll(async () => {
      png = await colourImage('red');
      server = await serveRoutes({
        '/ok.png': (_q, r) => r.writeHead(200, { 'content-type': 'image/png' }).end(png),
        '/redirect': (_q, r) => r.writeHead(302, { location: '/ok.png' }).end(),
        '/loop': (_q, r) => r.writeHead(302, { location: '/loop' }).end(),
        '/html': (_q, r) => r.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>'),
        '/big': (_q, r) => r.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.alloc(200_000)),
        '/big-chunked': (_q, r) => {
          r.writeHead(200, { 'content-type': 'image/png' });
          for (let i = 0; i < 20; i++) r.write(Buffer.alloc(10_000));
          r.end();
        },
        '/slow': () => undefined,
        '/500': (_q, r) => r.writeHead(500).end(),
      });
    });
    afterAll(() => server.close());
    const allowed = { ...opts, allowPrivate: true };

    test('fetches an image and follows redirects', async () => {
      expect(await fetchImageUrl(server.url('/ok.png'), allowed)).toEqual(png);
      expect(await fetchImageUrl(server.url('/redirect'), allowed)).toEqual(png);
    });

    test('the same server is refused when private addresses are not allowed', async () => {
      await expect(fetchImageUrl(server.url('/ok.png'), opts)).rejects.toThrow(UrlNotAllowed);
    });

    test('limits size, time, redirects, status and content type', async () => {
      await expect(fetchImageUrl(server.url('/big'), allowed)).rejects.toThrow(/limit/);
      await expect(fetchImageUrl(server.url('/big-chunked'), allowed)).rejects.toThrow(/limit/);
      await expect(fetchImageUrl(server.url('/slow'), { ...allowed, timeoutMs: 300 })).rejects.toThrow(/timed out/);
      await expect(fetchImageUrl(server.url('/loop'), allowed)).rejects.toThrow(/too many redirects/);
      await expect(fetchImageUrl(server.url('/500'), allowed)).rejects.toThrow(UrlFetchFailed);
      await expect(fetchImageUrl(server.url('/html'), allowed)).rejects.toThrow(/not an image/);
    });
  });
});
