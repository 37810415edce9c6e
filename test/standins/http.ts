/**
 * A tiny loopback HTTP server for stand-ins, with fault injection: the next N requests (or all,
 * until cleared) answer with a status (e.g. 503, 429) or hang past the client's timeout.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = { status: number; body?: unknown; remaining?: number } | { hang: true; remaining?: number };

export interface StandinServer {
  url: string;
  /** Requests seen (method + path with query), for assertions. */
  requests: string[];
  fault(f: Fault | undefined): void;
  close(): Promise<void>;
}

export type Handler = (req: { method: string; url: URL; body: unknown; headers: http.IncomingHttpHeaders }) => { status?: number; body: unknown };

export async function serve(handler: Handler, errorBody: (status: number) => unknown): Promise<StandinServer> {
  let fault: Fault | undefined;
  const requests: string[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      requests.push(`${req.method} ${url.pathname}${url.search}`);
      if (fault) {
        const f = fault;
        if (f.remaining !== undefined && --f.remaining <= 0) fault = undefined;
        if ('hang' in f) return; // never answer: the client's timeout fires
        res.writeHead(f.status, { 'content-type': 'application/json', ...(f.status === 429 ? { 'retry-after': '0' } : {}) });
        res.end(JSON.stringify(f.body ?? errorBody(f.status)));
        return;
      }
      let body: unknown;
      try {
        body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
      } catch {
        res.writeHead(400).end();
        return;
      }
      try {
        const out = handler({ method: req.method ?? 'GET', url, body, headers: req.headers });
        res.writeHead(out.status ?? 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(out.body));
      } catch (err) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify(errorBody(500)));
        console.error('stand-in handler failed', err);
      }
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    fault: (f) => void (fault = f),
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
