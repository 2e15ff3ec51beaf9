import { existsSync } from 'node:fs';
import * as path from 'node:path';
import fastifyStatic from '@fastify/static';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter as BoardAdapter } from '@bull-board/fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AuthService } from '@chiptrail/auth';
import { sendProblem } from '@chiptrail/http';
import type { Runtime } from '@chiptrail/platform';

const QUEUES = ['feeds', 'deliveries', 'digests', 'deliveries-sweep'];

/** The built admin UI (`npm run build` puts it in dist/admin), found from sources and from dist alike. */
export function adminUiDirectory(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return path.join(dir, 'dist', 'admin');
}

/**
 * Serves the admin single-page app at /admin (it talks only to the public API) and, for admins and curators,
 * the Bull Board queue dashboard at /admin/queues, behind a short-lived signed cookie (read-only for curators).
 */
export async function mountAdminUi(app: NestFastifyApplication, runtime: Runtime): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance() as unknown as FastifyInstance;
  const root = adminUiDirectory();
  const built = existsSync(path.join(root, 'index.html'));

  const board = new BoardAdapter();
  board.setBasePath('/admin/queues');
  // The queues are opened on the first authorised visit: an api that nobody inspects keeps no queue connections.
  const { setQueues } = createBullBoard({ queues: [], serverAdapter: board });
  let queuesShown = false;
  await fastify.register(async (scope) => {
    scope.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      const role = await app.get(AuthService).boardRole(request.headers.cookie);
      if (!role || role === 'viewer') {
        sendProblem(reply, { type: 'https://chiptrail.dev/problems/unauthenticated', title: 'Unauthorized', status: 401, code: 'unauthenticated', detail: 'Open the queue dashboard from the admin UI (Queues page) as an admin or curator.' });
        return reply;
      }
      if (role === 'curator' && request.method !== 'GET' && request.method !== 'HEAD') {
        sendProblem(reply, { type: 'https://chiptrail.dev/problems/forbidden', title: 'Forbidden', status: 403, code: 'forbidden', detail: 'The queue dashboard is read-only for curators.' });
        return reply;
      }
      if (!queuesShown) {
        queuesShown = true;
        setQueues(QUEUES.map((name) => new BullMQAdapter(runtime.queues.queue(name) as never)));
      }
      return undefined;
    });
    await scope.register(board.registerPlugin() as never, { prefix: '/admin/queues' });
  });

  if (!built) {
    fastify.get('/admin', (_request, reply) =>
      sendProblem(reply, { type: 'https://chiptrail.dev/problems/admin_ui_not_built', title: 'Service Unavailable', status: 503, code: 'admin_ui_not_built', detail: 'The admin UI has not been built; run `npm run build`.' }),
    );
    return;
  }
  await fastify.register(fastifyStatic, { root, prefix: '/admin/', wildcard: false, decorateReply: false, index: false });
  const index = async (_request: FastifyRequest, reply: FastifyReply) => {
    const { readFile } = await import('node:fs/promises');
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(await readFile(path.join(root, 'index.html')));
  };
  fastify.get('/admin', index);
  fastify.get('/admin/', index);
  // Client-side routes (/admin/chips/nvidia-h20 …) all load the app.
  fastify.get('/admin/*', async (request, reply) => {
    if (/\.[a-z0-9]+$/i.test(request.url.split('?')[0] as string)) {
      return sendProblem(reply, { type: 'https://chiptrail.dev/problems/route_not_found', title: 'Not Found', status: 404, code: 'route_not_found', detail: 'No such file.' });
    }
    return index(request, reply);
  });
}
