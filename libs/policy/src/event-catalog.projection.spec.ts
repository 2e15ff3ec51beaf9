import { Database } from '@chiptrail/db';
import { parseRecordEventRequest, type PolicyEventType } from '@chiptrail/domain';
import { EventStore } from '@chiptrail/event-store';
import { ProjectionRunner, rebuildProjection } from '@chiptrail/projections';
import { Clock, Logger } from '@chiptrail/runtime';
import { createTestDatabase, type TestDatabase } from '@chiptrail/testing';
import { EventCatalogProjection } from './event-catalog.projection';
import { EventQueries } from './event-queries';
import { RecordPolicyEvent } from './record-policy-event.handler';

let database: TestDatabase;
let db: Database;
let owner: Database;
const clock = new Clock();
const source = { url: 'https://example.gov/x', title: 'Source', publishedAt: '2024-01-01' };

beforeAll(async () => {
  database = await createTestDatabase('catalog');
  db = await Database.connect({ url: database.appUrl, poolSize: 3, applicationName: 'catalog-spec' });
  owner = await Database.connect({ url: database.ownerUrl, poolSize: 2, applicationName: 'catalog-spec-owner' });
});
afterAll(async () => {
  await db?.close();
  await owner?.close();
  await database?.drop();
});

it('catalogues events with what they are about, marks retractions and corrections, and rebuilds identically', async () => {
  const store = new EventStore(db, clock);
  const record = new RecordPolicyEvent(store);
  const post = async (type: PolicyEventType, data: Record<string, unknown>, effectiveAt?: string) =>
    (await record.handle(parseRecordEventRequest({ type, data, effectiveAt, source }, clock.now()), { actor: 'user:spec' })).id;
  await post('ChipRegistered', { chip: 'h20', vendor: 'NVIDIA', model: 'H20', datacenter: true }, '2024-01-01');
  const imposed = await post('ControlImposed', {
    measureId: 'm', authority: 'US-BIS', direction: 'export', requirement: 'license_required', scope: { chips: ['h20'], eccnBands: ['3A090.a'] },
    destinations: ['CN'], title: 'Letter',
  }, '2025-04-09');
  const correction = await post('EventCorrected', { eventId: imposed, effectiveAt: '2025-04-10', reason: 'date' });
  const retraction = await post('EventRetracted', { eventId: imposed, reason: 'error' });
  const runner = new ProjectionRunner(db, store, new EventCatalogProjection(), { pollMs: 10, logger: new Logger('error') });
  expect(await runner.catchUp()).toBe(4);

  const detail = await new EventQueries(db).get(imposed);
  expect(detail).toMatchObject({
    type: 'ControlImposed',
    authority: 'US-BIS',
    chips: ['h20'],
    eccnBands: ['3A090.a'],
    destinations: ['CN'],
    title: 'Letter',
    actor: 'user:spec',
    correctedBy: [correction],
    retracted: { by: retraction },
    corrections: [{ id: correction }],
    retraction: { id: retraction },
  });

  const snapshot = async () => (await owner.query(`SELECT * FROM event_catalog ORDER BY position`)).rows;
  const live = await snapshot();
  await rebuildProjection(owner, new EventStore(owner, clock), new EventCatalogProjection());
  expect(await snapshot()).toEqual(live);
});
