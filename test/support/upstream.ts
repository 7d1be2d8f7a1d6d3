// An upstream for APIs that a gateway (real or stand-in) proxies to: every request is answered with what it was
// (method, path, query, a few headers, body) as JSON, and `/slow?ms=N` answers after N ms, so a request can be in
// flight when a gateway stops. Listens on 127.0.0.1 on a free port.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface UpstreamRequest {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string | undefined>;
  body: string;
}

export interface Upstream {
  url: string;
  /** Every request seen so far, oldest first. */
  requests: UpstreamRequest[];
  stop(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body;
}

export async function startUpstream(): Promise<Upstream> {
  const requests: UpstreamRequest[] = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://upstream');
    const seen: UpstreamRequest = {
      method: req.method ?? '',
      path: url.pathname,
      query: url.search,
      headers: { authorization: req.headers.authorization, 'x-tyk-authorization': req.headers['x-tyk-authorization'] as string | undefined },
      body: await readBody(req),
    };
    requests.push(seen);
    const answer = () => {
      const text = `${JSON.stringify(seen)}\n`;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (url.pathname.endsWith('/slow')) setTimeout(answer, Math.min(Number(url.searchParams.get('ms')) || 0, 60_000));
    else answer();
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
