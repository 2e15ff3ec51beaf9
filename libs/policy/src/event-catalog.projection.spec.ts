import { randomUUID } from 'node:crypto';
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
  const registered = await post('ChipRegistered', { chip: 'h20', vendor: 'NVIDIA', model: 'H20', datacenter: true }, '2024-01-01');
  const imposed = await post('ControlImposed', {
    measureId: 'm', authority: 'US-BIS', direction: 'export', requirement: 'license_required', scope: { chips: ['h20'], eccnBands: ['3A090.a'] },
    destinations: ['CN'], title: 'Letter',
  }, '2025-04-09');
  await post('ChipRegistered', { chip: 'b30a', vendor: 'NVIDIA', model: 'B30A', datacenter: true }, '2024-01-01');
  const licence = await post('LicenseGranted', { licenseId: 'l', authority: 'US-BIS', holder: 'NVIDIA', chips: ['h20', 'b30a'], destinations: ['CN', 'HK'], title: 'Licence' }, '2025-08-01');
  const review = await post('InvestigationOpened', { investigationId: 'i', authority: 'CN-CAC', kind: 'security_review', subjects: { chips: ['b30a', 'h20'] }, title: 'Review' }, '2025-07-31');
  const runner = new ProjectionRunner(db, store, new EventCatalogProjection(), { pollMs: 10, logger: new Logger('error') });
  // Corrections and retraction in a later batch than their target (live), in the same one (the rebuild below).
  expect(await runner.catchUp()).toBe(5);
  const queries = new EventQueries(db);
  expect(await queries.get(licence)).toMatchObject({ authority: 'US-BIS', chips: ['h20', 'b30a'], destinations: ['CN', 'HK'], title: 'Licence' });
  expect(await queries.get(review)).toMatchObject({ authority: 'CN-CAC', chips: ['b30a', 'h20'], destinations: [], eccnBands: [] });
  // Whatever shape an older event has, only strings are listed, each chip once, in the order first named.
  const odd = await store.append(`odd-${randomUUID()}`, 'no_stream', [
    { type: 'LicenseGranted', data: { chip: 'b30a', chips: ['h20', 7, 'b30a', 'h20'], subjects: { chips: ['x1'] }, scope: 'all', destinations: 'CN', authority: 3 }, metadata: { actor: 'user:spec' }, effectiveAt: new Date('2025-01-01') },
  ]);
  expect(await runner.catchUp()).toBe(1);
  expect(await queries.get(odd.events[0]!.id)).toMatchObject({ authority: null, chips: ['b30a', 'h20', 'x1'], destinations: [], eccnBands: [], title: null });
  // An event without a title of its own is listed under its source's.
  expect(await queries.get(registered)).toMatchObject({ authority: null, chips: ['h20'], destinations: [], eccnBands: [], title: 'Source' });
  const correction = await post('EventCorrected', { eventId: imposed, effectiveAt: '2025-04-10', reason: 'date' });
  const second = await post('EventCorrected', { eventId: imposed, effectiveAt: '2025-04-11', reason: 'date again' });
  const retraction = await post('EventRetracted', { eventId: imposed, reason: 'error' });
  expect(await runner.catchUp()).toBe(3);

  const detail = await new EventQueries(db).get(imposed);
  expect(detail).toMatchObject({
    type: 'ControlImposed',
    authority: 'US-BIS',
    chips: ['h20'],
    eccnBands: ['3A090.a'],
    destinations: ['CN'],
    title: 'Letter',
    actor: 'user:spec',
    correctedBy: [correction, second],
    retracted: { by: retraction },
    corrections: [{ id: correction }, { id: second }],
    retraction: { id: retraction },
  });

  const snapshot = async () => ({
    rows: (await owner.query(`SELECT * FROM event_catalog ORDER BY position`)).rows,
    // The listing indexes are built after the replay: the same ones, under the same names, must come back.
    indexes: (await owner.query(`SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'event_catalog' ORDER BY 1`)).rows,
    // The event-id constraint too (dropped while replaying, added back at the end).
    constraints: (await owner.query(`SELECT conname, contype, pg_get_constraintdef(oid) AS definition FROM pg_constraint WHERE conrelid = 'event_catalog'::regclass ORDER BY 1`)).rows,
  });
  const live = await snapshot();
  await rebuildProjection(owner, new EventStore(owner, clock), new EventCatalogProjection());
  expect(await snapshot()).toEqual(live);
});
