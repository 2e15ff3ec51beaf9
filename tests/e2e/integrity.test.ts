import { Client } from 'pg';
import { readJson, startTestApp, type TestApp } from '@chiptrail/testing';

describe('GET /api/v1/integrity', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  it('reports the head of an intact log, then the exact position of a tampered event', async () => {
    const appended = await app.runtime.store.append('integrity-e2e', 'no_stream', [1, 2, 3].map((n) => ({
      type: 'Counted',
      data: { n },
      metadata: { actor: 'system:test' },
      effectiveAt: new Date('2025-01-01T00:00:00Z'),
    })));
    expect((await app.call('anonymous', 'GET', '/api/v1/integrity')).status).toBe(401);
    const intact = await readJson(await app.call('viewer', 'GET', '/api/v1/integrity'));
    expect(intact).toMatchObject({ ok: true, eventsVerified: 3, firstBroken: null, head: { position: appended.events[2]!.position } });
    const head = await readJson(await app.call('viewer', 'GET', '/api/v1/integrity/head'));
    expect(head).toMatchObject({ events: 3, last: { position: appended.events[2]!.position, eventId: appended.events[2]!.id, streamId: 'integrity-e2e', hash: expect.stringMatching(/^[0-9a-f]{64}$/) } });

    const superuser = new Client({ connectionString: app.database.ownerUrl });
    await superuser.connect();
    await superuser.query(`SET session_replication_role = replica`);
    await superuser.query(`UPDATE events SET data = '{"n": 20}' WHERE global_position = $1`, [appended.events[1]!.position]);
    await superuser.end();

    const broken = await readJson(await app.call('viewer', 'GET', '/api/v1/integrity'));
    expect(broken).toMatchObject({ ok: false, firstBroken: { position: appended.events[1]!.position, reason: 'hash_mismatch' } });
  });
});
