import http from 'node:http';
import { Pool } from 'pg';

/**
 * The read baseline: a bare Node http server answering each request with one JSON document fetched by primary
 * key (pg pool of 10), no framework, no auth. Started by the benchmark: `node baseline-server.js <port> <database url>`.
 */
const [port, databaseUrl] = process.argv.slice(2);
const pool = new Pool({ connectionString: databaseUrl, max: 10 });

http
  .createServer((request, response) => {
    pool
      .query<{ body: unknown }>({ name: 'doc', text: 'SELECT body FROM bench_documents WHERE id = $1', values: [request.url ?? ''] })
      .then(({ rows }) => {
        const body = JSON.stringify(rows[0]?.body ?? null);
        response.writeHead(rows[0] ? 200 : 404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        response.end(body);
      })
      .catch((error: Error) => {
        response.writeHead(500).end(error.message);
      });
  })
  .listen(Number(port), '127.0.0.1', () => process.stdout.write('listening\n'));
