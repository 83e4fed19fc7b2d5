import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Route = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** A loopback HTTP server for URL-ingest tests; nothing leaves this machine. */
export async function serveRoutes(routes: Record<string, Route>): Promise<{ url: (p: string) => string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const route = routes[req.url ?? ''];
    if (route) route(req, res);
    else {
      res.statusCode = 404;
      res.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (p) => `http://127.0.0.1:${port}${p}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Two photos for a URL job (`urls`, at /a.png and /b.png): the one named with `hold` is held until `release()`, the
 * other served at once. A job reads its items in the order of their ids, so a test holds the first or the second.
 */
export async function serveOneHeld(served: Buffer, held: Buffer) {
  let hold: (url: string) => void = () => undefined;
  const heldPath = new Promise<string>((resolve) => (hold = (url) => resolve(new URL(url).pathname)));
  const holding: http.ServerResponse[] = [];
  const photo = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.url === (await heldPath)) holding.push(res);
    else res.writeHead(200, { 'content-type': 'image/png' }).end(served);
  };
  const server = await serveRoutes({ '/a.png': (q, r) => void photo(q, r), '/b.png': (q, r) => void photo(q, r) });
  return {
    urls: [server.url('/a.png'), server.url('/b.png')],
    hold,
    holding: () => holding.length,
    release: () => {
      for (const res of holding.splice(0)) res.writeHead(200, { 'content-type': 'image/png' }).end(held);
    },
    close: server.close,
  };
}

/**
 * Photos for a URL job (`urls`, at /0.png, /1.png ...), every request held until `release()` answers those held
 * so far: a test decides how far a job gets. `requests` counts the requests for each path.
 */
export async function serveGated(photos: Buffer[]) {
  const held: { res: http.ServerResponse; photo: Buffer }[] = [];
  const requests = new Map<string, number>();
  const routes = Object.fromEntries(
    photos.map((photo, i): [string, Route] => [
      `/${i}.png`,
      (req, res) => {
        requests.set(req.url!, (requests.get(req.url!) ?? 0) + 1);
        held.push({ res, photo });
      },
    ]),
  );
  const server = await serveRoutes(routes);
  return {
    urls: photos.map((_, i) => server.url(`/${i}.png`)),
    holding: () => held.length,
    requests,
    release: () => {
      for (const { res, photo } of held.splice(0)) res.writeHead(200, { 'content-type': 'image/png' }).end(photo);
    },
    close: server.close,
  };
}
