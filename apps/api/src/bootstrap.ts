import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { Runtime } from '@chiptrail/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendProblem, toProblem } from '@chiptrail/http';
import { ApiModule } from './api.module';
import { mountAdminUi } from './admin/admin-ui';

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
  });
  const app = await NestFactory.create<NestFastifyApplication>(ApiModule.register(runtime), adapter, {
    logger: runtime.logger,
    bufferLogs: false,
  });
  // Bodies are JSON only: anything else is answered 415 rather than parsed as a string.
  const fastify = app.getHttpAdapter().getInstance();
  fastify.removeContentTypeParser('text/plain');
  // NDJSON imports are streamed, never buffered: the handler reads them line by line with its own limits.
  fastify.addContentTypeParser('application/x-ndjson', (_request, payload, done) => done(null, payload));
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
