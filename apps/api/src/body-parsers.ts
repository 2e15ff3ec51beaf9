import type { FastifyInstance } from 'fastify';
import { ValidationError, assertStorableText } from '@chiptrail/domain';
import { sendProblem, toProblem } from '@chiptrail/http';
import type { Runtime } from '@chiptrail/platform';

type Done = (error: Error | null, value?: unknown) => void;

/** Hands a parsed body on, unless it holds text PostgreSQL could not store as written (NUL, lone surrogates). */
function storable(value: unknown, done: Done): void {
  try {
    assertStorableText(value);
    done(null, value);
  } catch (refusal) {
    done(refusal as Error, undefined);
  }
}

/**
 * What request bodies the api accepts: JSON (Fastify's parser, prototype poisoning refused), forms (the POSTed
 * confirmation and RFC 8058 one-click unsubscribe) and streamed NDJSON (imports); anything else is answered 415.
 */
export function registerBodyParsers(fastify: FastifyInstance, runtime: Runtime): void {
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) =>
    parseJson(request, body as string, (error, value) => (error ? done(error, undefined) : storable(value, done))),
  );
  fastify.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) =>
    storable(Object.fromEntries(new URLSearchParams(body as string)), done),
  );
  fastify.removeContentTypeParser('text/plain');
  // NDJSON imports are streamed, never buffered: the handler reads them line by line with its own limits.
  fastify.addContentTypeParser('application/x-ndjson', (_request, payload, done) => done(null, payload));
  // Nor in the URL: a NUL in a path segment or query value is refused before any handler sees it.
  fastify.addHook('onRequest', async (request, reply) => {
    if (/%00/i.test(request.url)) {
      sendProblem(reply, toProblem(new ValidationError('invalid_text', 'The URL may not contain the NUL character (%00).'), request.url.split('?')[0], runtime.logger));
      return reply;
    }
    return undefined;
  });
}
