import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import type { Runtime } from '@chiptrail/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { clientErrorResponse, sendProblem, toProblem } from '@chiptrail/http';
import { ApiModule } from './api.module';
import { mountAdminUi } from './admin/admin-ui';
import { registerBodyParsers } from './body-parsers';

export const BODY_LIMIT_BYTES = 1024 * 1024;

/** Builds the HTTP application (Fastify: see ../shared/reference/baseline.md for why not Express). */
export async function createApiApp(runtime: Runtime): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: false,
    routerOptions: { maxParamLength: 500 },
    // Malformed URLs fail in the router, before Nest: answer them with problem documents too.
    frameworkErrors: (error: Error, request: FastifyRequest, reply: FastifyReply) =>
      sendProblem(reply, toProblem(error, request.url.split('?')[0], runtime.logger)),
    clientErrorHandler: (error: Error & { code?: string }, socket) => {
      if (socket.writable) socket.end(clientErrorResponse(error));
      else socket.destroy();
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(ApiModule.register(runtime), adapter, {
    logger: runtime.logger,
    bufferLogs: false,
    // Our own JSON parser below (Fastify's, plus a check on the text); Nest would register a second one.
    bodyParser: false,
  });
  // Security headers on every answer (api, admin UI, queue dashboard, docs). The CSP allows only this origin's
  // scripts; inline styles are allowed because the queue dashboard and the API docs use them. The middleware is
  // built once: @fastify/helmet rebuilt it (parsing the CSP) on every request, a fifth of a status read's time.
  const securityHeaders = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', (request, reply, done) => securityHeaders(request.raw, reply.raw, (error?: unknown) => done(error as Error | undefined)));
  // Cross-origin browser calls only from origins listed in CORS_ORIGINS (none by default).
  if (runtime.config.corsOrigins.length > 0) {
    app.enableCors({ origin: [...runtime.config.corsOrigins], methods: ['GET', 'HEAD', 'POST', 'PATCH', 'PUT', 'DELETE'], allowedHeaders: ['authorization', 'content-type'], maxAge: 600 });
  }
  // Access log at debug level only (it costs on the hot path); the logger masks credentials in URLs.
  if (runtime.config.logLevel === 'debug') {
    fastify.addHook('onResponse', async (request, reply) => {
      runtime.logger.debug(`${request.method} ${request.url} → ${reply.statusCode} in ${reply.elapsedTime.toFixed(1)} ms`, 'Http');
    });
  }
  registerBodyParsers(fastify, runtime);
  await mountAdminUi(app, runtime);

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('chiptrail')
      .setDescription('Chip export-control status with two time axes, every answer citing its events.')
      .setVersion('1')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs/openapi.json' });
  app.enableShutdownHooks();
  await app.init();
  return app;
}
