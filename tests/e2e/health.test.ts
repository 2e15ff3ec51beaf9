import { Client } from 'pg';
import { loadTestConfig } from '@chiptrail/config';
import { readJson, startTestApp, type TestApp } from '@chiptrail/testing';

describe('GET /health', () => {
  it('reports the database and BullMQ on PostgreSQL as up', async () => {
    const app = await startTestApp({ queue: 'postgres' });
    try {
      const response = await fetch(`${app.baseUrl}/health`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ state: 'ok', database: { up: true }, queue: { backend: 'postgres', up: true }, down: [] });
    } finally {
      await app.close();
    }
  });

  it('reports Redis as the queue backend when REDIS_URL is set', async () => {
    const app = await startTestApp({ queue: 'redis' });
    try {
      const response = await fetch(`${app.baseUrl}/health`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ queue: { backend: 'redis', up: true } });
    } finally {
      await app.close();
    }
  });

  it('answers 503 with a problem document naming the queue when Redis is unreachable', async () => {
    const app = await startTestApp({ queue: 'redis://127.0.0.1:1' });
    try {
      const response = await fetch(`${app.baseUrl}/health`);
      expect(response.status).toBe(503);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      const body = await readJson(response);
      expect(body).toMatchObject({ status: 503, code: 'service_unavailable', state: 'down', database: { up: true }, queue: { up: false } });
      expect(body.detail).toBe('Down: queue (redis).');
    } finally {
      await app.close();
    }
  });

  it('answers 503 naming the database while it refuses connections, and recovers without a restart', async () => {
    const app: TestApp = await startTestApp({ queue: 'postgres' });
    const admin = new Client({ connectionString: loadTestConfig().adminDatabaseUrl });
    await admin.connect();
    try {
      await admin.query(`ALTER DATABASE ${app.database.name} ALLOW_CONNECTIONS false`);
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, [app.database.name]);
      const down = await fetch(`${app.baseUrl}/health`);
      expect(down.status).toBe(503);
      const body = await readJson(down);
      expect(body.down).toContain('database');
      expect(body.detail).toMatch(/^Down: database/);
      await admin.query(`ALTER DATABASE ${app.database.name} ALLOW_CONNECTIONS true`);
      const up = await fetch(`${app.baseUrl}/health`);
      expect(up.status).toBe(200);
    } finally {
      await admin.query(`ALTER DATABASE ${app.database.name} ALLOW_CONNECTIONS true`).catch(() => undefined);
      await admin.end();
      await app.close();
    }
  });

  it('answers unknown routes with a problem document', async () => {
    const app = await startTestApp();
    try {
      const response = await fetch(`${app.baseUrl}/nothing/here`);
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ code: 'route_not_found', status: 404 });
    } finally {
      await app.close();
    }
  });
});
