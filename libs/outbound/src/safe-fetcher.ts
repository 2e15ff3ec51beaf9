import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { Transform } from 'node:stream';
import zlib from 'node:zlib';
import type { AddressGuard } from './address-guard';

export type OutboundFailure =
  | 'invalid_url'
  | 'blocked_address'
  | 'dns_failure'
  | 'timeout'
  | 'too_large'
  | 'too_many_redirects'
  | 'network_error'
  | 'bad_encoding';

export class OutboundError extends Error {
  constructor(
    readonly code: OutboundFailure,
    message: string,
  ) {
    super(message);
    this.name = 'OutboundError';
  }
}

export interface OutboundRequest {
  readonly method?: 'GET' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  /** The whole exchange, redirects included. */
  readonly timeoutMs: number;
  /** Cap on the (decompressed) response body. */
  readonly maxBytes: number;
  /** 0 returns a 3xx as it is. */
  readonly maxRedirects: number;
}

export interface OutboundResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** The URL that answered, after redirects. */
  readonly url: string;
  readonly redirects: readonly string[];
}

/** Resolves a hostname to its addresses. Injected so tests can play DNS (and DNS rebinding) deterministically. */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) => dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) => (error ? reject(error) : resolve(addresses))));

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * HTTP(S) for anything a user configured (feeds, webhooks). The guard judges the address the socket connects to:
 * the DNS answer is checked inside the connection's own lookup, so a name cannot resolve to a public address for a
 * check and to a private one for the connection. Every redirect hop goes through the same path. Bodies are capped
 * after decompression, and the whole exchange has one deadline.
 */
export class SafeFetcher {
  constructor(
    private readonly guard: AddressGuard,
    private readonly resolver: Resolver = systemResolver,
  ) {}

  async fetch(url: string, request: OutboundRequest): Promise<OutboundResponse> {
    const deadline = Date.now() + request.timeoutMs;
    const redirects: string[] = [];
    let current = url;
    let method = request.method ?? 'GET';
    let body = request.body;
    for (;;) {
      const response = await this.once(current, { ...request, method, body }, deadline);
      const location = response.headers.location;
      if (!REDIRECTS.has(response.status) || request.maxRedirects === 0 || !location) return { ...response, url: current, redirects };
      if (redirects.length >= request.maxRedirects) {
        throw new OutboundError('too_many_redirects', `More than ${request.maxRedirects} redirects (last to ${location}).`);
      }
      let next: URL;
      try {
        next = new URL(location, current);
      } catch {
        throw new OutboundError('invalid_url', `Redirect to an invalid location: ${location.slice(0, 200)}`);
      }
      redirects.push(next.toString());
      if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
      }
      current = next.toString();
    }
  }

  private once(url: string, request: OutboundRequest & { method: 'GET' | 'POST' }, deadline: number): Promise<Omit<OutboundResponse, 'url' | 'redirects'>> {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return Promise.reject(new OutboundError('invalid_url', `Not a URL: ${url.slice(0, 200)}`));
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      return Promise.reject(new OutboundError('invalid_url', `Only http and https are allowed, not ${target.protocol}`));
    }
    if (target.username || target.password) {
      return Promise.reject(new OutboundError('invalid_url', 'URLs with credentials are not allowed.'));
    }
    const host = target.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host)) {
      // Node does not call `lookup` for IP literals, so judge them here.
      const verdict = this.guard.check(host);
      if (!verdict.allowed) return Promise.reject(new OutboundError('blocked_address', `Refused to connect: ${verdict.reason}.`));
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) return Promise.reject(new OutboundError('timeout', 'The request timed out.'));

    const guardedLookup: LookupFunction = (hostname, options, callback) => {
      this.resolver(hostname)
        .then((addresses) => {
          const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
          if (wanted.length === 0) throw new OutboundError('dns_failure', `${hostname} has no address.`);
          // A name that resolves to anything forbidden is refused outright: rebinding tricks mix answers.
          for (const candidate of wanted) {
            const verdict = this.guard.check(candidate.address);
            if (!verdict.allowed) throw new OutboundError('blocked_address', `Refused to connect to ${hostname}: ${verdict.reason}.`);
          }
          const chosen = wanted[0]!;
          if (options.all) (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, [chosen]);
          else callback(null, chosen.address, chosen.family);
        })
        .catch((error: unknown) =>
          callback(error instanceof OutboundError ? error : new OutboundError('dns_failure', `Could not resolve ${hostname}: ${(error as Error).message}`), '', 0),
        );
    };

    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (error: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        reject(toOutbound(error));
      };
      const client = target.protocol === 'https:' ? https : http;
      const req = client.request(
        target,
        {
          method: request.method,
          headers: { 'accept-encoding': 'gzip, deflate, br', 'user-agent': 'chiptrail/1 (+https://chiptrail.dev)', ...request.headers },
          lookup: guardedLookup,
          agent: false,
        },
        (res) => {
          readBody(res, request.maxBytes).then(
            (body) => {
              if (settled) return;
              settled = true;
              clearTimeout(timer);
              resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
            },
            fail,
          );
        },
      );
      const timer = setTimeout(() => fail(new OutboundError('timeout', 'No complete answer before the deadline.')), remaining);
      req.on('error', fail);
      if (request.body !== undefined) req.end(request.body);
      else req.end();
    });
  }
}

function readBody(res: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let done = false;
    // Settle first, then tear down: destroying the response emits its own events, which must not win.
    const finish = (error: unknown, body?: Buffer) => {
      if (done) return;
      done = true;
      if (error) {
        reject(toOutbound(error));
        res.destroy();
        decoder?.destroy();
      } else resolve(body as Buffer);
    };
    const declared = Number(res.headers['content-length']);
    const encoding = String(res.headers['content-encoding'] ?? 'identity').toLowerCase().trim();
    let decoder: Transform | undefined;
    if (Number.isFinite(declared) && declared > maxBytes) {
      finish(new OutboundError('too_large', `The body is ${declared} bytes; at most ${maxBytes} are read.`));
      return;
    }
    if (encoding === 'gzip' || encoding === 'x-gzip') decoder = zlib.createGunzip();
    else if (encoding === 'deflate') decoder = zlib.createInflate();
    else if (encoding === 'br') decoder = zlib.createBrotliDecompress();
    else if (encoding !== 'identity' && encoding !== '') {
      finish(new OutboundError('bad_encoding', `Unsupported content encoding: ${encoding}`));
      return;
    }
    const stream: NodeJS.ReadableStream = decoder ? res.pipe(decoder) : res;
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        finish(new OutboundError('too_large', `The body exceeds ${maxBytes} bytes.`));
        return;
      }
      chunks.push(chunk);
    });
    stream.on('end', () => finish(null, Buffer.concat(chunks)));
    stream.on('error', (error: Error) => finish(error));
    res.on('error', (error: Error) => finish(error));
    res.on('aborted', () => finish(new OutboundError('network_error', 'The connection was closed before the body ended.')));
  });
}

function toOutbound(error: unknown): OutboundError {
  if (error instanceof OutboundError) return error;
  const err = error as NodeJS.ErrnoException;
  if (err?.code === 'ECONNREFUSED') return new OutboundError('network_error', 'Connection refused.');
  if (err?.code === 'ECONNRESET') return new OutboundError('network_error', 'Connection reset.');
  if (err?.code?.startsWith?.('Z_')) return new OutboundError('bad_encoding', `The body could not be decompressed: ${err.message}`);
  return new OutboundError('network_error', err?.message ?? String(error));
}
