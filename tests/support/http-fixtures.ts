import http, { type IncomingMessage, type ServerResponse } from 'node:http';

export type Handler = (request: IncomingMessage, response: ServerResponse, body: Buffer) => unknown;

export interface FixtureServer {
  readonly url: string;
  readonly port: number;
  /** Every request seen, in order. */
  readonly requests: Array<{ method: string; path: string; headers: http.IncomingHttpHeaders; body: Buffer }>;
  route(path: string, handler: Handler): void;
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1 (the only address tests talk to), with routes a test can change as it goes. */
export async function startFixtureServer(host = '127.0.0.1'): Promise<FixtureServer> {
  const routes = new Map<string, Handler>();
  const requests: FixtureServer['requests'] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const path = (request.url ?? '/').split('?')[0] as string;
      requests.push({ method: request.method ?? 'GET', path, headers: request.headers, body });
      const handler = routes.get(path);
      if (!handler) {
        response.writeHead(404).end('not found');
        return;
      }
      Promise.resolve(handler(request, response, body)).catch((error: Error) => {
        if (!response.headersSent) response.writeHead(500);
        response.end(String(error));
      });
    });
  });
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://${host}:${port}`,
    port,
    requests,
    route(path, handler) {
      routes.set(path, handler);
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
