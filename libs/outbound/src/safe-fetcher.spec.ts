import { gzipSync, brotliCompressSync } from 'node:zlib';
import { parseCidr } from '@chiptrail/config';
import { startFixtureServer, type FixtureServer } from '@chiptrail/testing';
import { AddressGuard } from './address-guard';
import { OutboundError, SafeFetcher, type Resolver } from './safe-fetcher';

let server: FixtureServer;
let forbidden: FixtureServer;
const guard = new AddressGuard([parseCidr('127.0.0.1/32')!]);
const request = { timeoutMs: 1500, maxBytes: 1024 * 1024, maxRedirects: 5 };

beforeAll(async () => {
  server = await startFixtureServer();
  // Loopback but not allow-listed: stands for an internal service. Any request reaching it is a failure.
  forbidden = await startFixtureServer('127.0.0.2');
  forbidden.route('/', (_req, res) => res.end('secret'));
});
afterAll(async () => {
  await server.close();
  await forbidden.close();
});

async function failure(promise: Promise<unknown>): Promise<OutboundError> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(OutboundError);
  return error as OutboundError;
}

describe('SafeFetcher', () => {
  it('decodes gzip and brotli bodies and passes conditional headers through', async () => {
    server.route('/gz', (req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip', etag: '"v1"' }).end(gzipSync(`hello ${req.headers['if-none-match'] ?? ''}`));
    });
    server.route('/br', (_req, res) => res.writeHead(200, { 'content-encoding': 'br' }).end(brotliCompressSync('brotli body')));
    const fetcher = new SafeFetcher(guard);
    const gz = await fetcher.fetch(`${server.url}/gz`, { ...request, headers: { 'if-none-match': '"v0"' } });
    expect(gz.body.toString()).toBe('hello "v0"');
    expect(gz.headers.etag).toBe('"v1"');
    expect((await fetcher.fetch(`${server.url}/br`, request)).body.toString()).toBe('brotli body');
  });

  it('stops reading past the size cap, even when the body is compressed or never ends', async () => {
    server.route('/big', (_req, res) => res.writeHead(200, { 'content-length': String(50 * 1024 * 1024) }).end());
    server.route('/bomb', (_req, res) => res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(Buffer.alloc(20 * 1024 * 1024))));
    server.route('/endless', (_req, res) => {
      res.writeHead(200);
      const timer = setInterval(() => res.write(Buffer.alloc(64 * 1024, 'x')), 1);
      res.on('close', () => clearInterval(timer));
    });
    const fetcher = new SafeFetcher(guard);
    expect((await failure(fetcher.fetch(`${server.url}/big`, request))).code).toBe('too_large');
    expect((await failure(fetcher.fetch(`${server.url}/bomb`, request))).code).toBe('too_large');
    expect((await failure(fetcher.fetch(`${server.url}/endless`, request))).code).toBe('too_large');
  });

  it('gives up at the deadline on a slow server or a trickling body', async () => {
    server.route('/slow', (_req, res) => {
      const timer = setTimeout(() => res.end('late'), 3000);
      res.on('close', () => clearTimeout(timer));
    });
    server.route('/trickle', (_req, res) => {
      res.writeHead(200);
      const timer = setInterval(() => res.write('.'), 200);
      res.on('close', () => clearInterval(timer));
    });
    const fetcher = new SafeFetcher(guard);
    const started = Date.now();
    expect((await failure(fetcher.fetch(`${server.url}/slow`, { ...request, timeoutMs: 500 }))).code).toBe('timeout');
    expect((await failure(fetcher.fetch(`${server.url}/trickle`, { ...request, timeoutMs: 700 }))).code).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('follows at most five redirects, and stops a loop', async () => {
    for (let i = 0; i < 6; i += 1) server.route(`/hop${i}`, (_req, res) => res.writeHead(302, { location: `/hop${i + 1}` }).end());
    server.route('/hop6', (_req, res) => res.end('arrived'));
    server.route('/loop', (_req, res) => res.writeHead(301, { location: '/loop' }).end());
    const fetcher = new SafeFetcher(guard);
    const five = await fetcher.fetch(`${server.url}/hop1`, request);
    expect(five.body.toString()).toBe('arrived');
    expect(five.redirects).toHaveLength(5);
    expect((await failure(fetcher.fetch(`${server.url}/hop0`, request))).code).toBe('too_many_redirects');
    expect((await failure(fetcher.fetch(`${server.url}/loop`, request))).code).toBe('too_many_redirects');
    const untouched = await fetcher.fetch(`${server.url}/hop1`, { ...request, maxRedirects: 0 });
    expect(untouched.status).toBe(302);
  });

  it('refuses a redirect to a private, loopback or metadata address before connecting', async () => {
    server.route('/to-internal', (_req, res) => res.writeHead(302, { location: 'http://127.0.0.2:' + forbidden.port + '/' }).end());
    server.route('/to-metadata', (_req, res) => res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end());
    const fetcher = new SafeFetcher(guard);
    expect(await failure(fetcher.fetch(`${server.url}/to-internal`, request))).toMatchObject({ code: 'blocked_address', message: expect.stringMatching(/loopback/) });
    expect(await failure(fetcher.fetch(`${server.url}/to-metadata`, request))).toMatchObject({ code: 'blocked_address', message: expect.stringMatching(/metadata/) });
    expect(forbidden.requests).toHaveLength(0);
  });

  it('judges the resolved address, not the name: names resolving to 169.254.169.254 or ::1 are refused', async () => {
    const resolver: Resolver = async (hostname) =>
      hostname === 'metadata.test' ? [{ address: '169.254.169.254', family: 4 }] : hostname === 'v6.test' ? [{ address: '::1', family: 6 }] : [{ address: '127.0.0.1', family: 4 }];
    const fetcher = new SafeFetcher(guard, resolver);
    expect((await failure(fetcher.fetch('http://metadata.test/latest/', request))).code).toBe('blocked_address');
    expect((await failure(fetcher.fetch(`http://v6.test:${server.port}/`, request))).code).toBe('blocked_address');
    server.route('/named', (_req, res) => res.end('ok'));
    expect((await fetcher.fetch(`http://feeds.test:${server.port}/named`, request)).body.toString()).toBe('ok');
  });

  it('cannot be tricked by a name that changes its answer between a check and the connection', async () => {
    // A checker that resolved once to validate and again to connect would validate 127.0.0.1 and connect to the
    // forbidden 127.0.0.2. Here the address validated is the address connected to, whatever the next answer is.
    let calls = 0;
    const rebinding: Resolver = async () => {
      calls += 1;
      return [{ address: calls === 1 ? '127.0.0.1' : '127.0.0.2', family: 4 }];
    };
    server.route('/', (_req, res) => res.end('the allowed server'));
    const fetcher = new SafeFetcher(guard, rebinding);
    const first = await fetcher.fetch(`http://rebind.test:${forbidden.port === server.port ? 1 : server.port}/`, request);
    expect(first.body.toString()).toBe('the allowed server');
    const second = await failure(fetcher.fetch(`http://rebind.test:${forbidden.port}/`, request));
    expect(second.code).toBe('blocked_address');
    const mixed: Resolver = async () => [{ address: '127.0.0.1', family: 4 }, { address: '10.0.0.5', family: 4 }];
    expect((await failure(new SafeFetcher(guard, mixed).fetch(`http://mixed.test:${server.port}/`, request))).code).toBe('blocked_address');
    expect(forbidden.requests).toHaveLength(0);
  });

  it('refuses other schemes and URLs with credentials', async () => {
    const fetcher = new SafeFetcher(guard);
    expect((await failure(fetcher.fetch('file:///etc/passwd', request))).code).toBe('invalid_url');
    expect((await failure(fetcher.fetch('ftp://127.0.0.1/x', request))).code).toBe('invalid_url');
    expect((await failure(fetcher.fetch(`http://user:pw@127.0.0.1:${server.port}/`, request))).code).toBe('invalid_url');
  });
});
