import { randomUUID } from 'node:crypto';
import { Database } from '@chiptrail/db';
import { parseRecordEventRequest, type PolicyEventType } from '@chiptrail/domain';
import { EventIdConflictError, EventStore, verifyIntegrity } from '@chiptrail/event-store';
import { Clock } from '@chiptrail/runtime';
import { createTestDatabase, type TestDatabase } from '@chiptrail/testing';
import { ImportPolicyEvents } from './import-policy-events.handler';
import { RecordPolicyEvent } from './record-policy-event.handler';

let database: TestDatabase;
let db: Database;
let store: EventStore;
let importer: ImportPolicyEvents;
const clock = new Clock();
const source = { url: 'https://example.gov/x', title: 'Source', publishedAt: '2024-01-01' };

beforeAll(async () => {
  database = await createTestDatabase('import');
  db = await Database.connect({ url: database.appUrl, poolSize: 3, applicationName: 'import-spec' });
  store = new EventStore(db, clock);
  importer = new ImportPolicyEvents(store, clock);
});
afterAll(async () => {
  await db?.close();
  await database?.drop();
});

const request = (type: PolicyEventType, data: Record<string, unknown>, effectiveAt = '2025-01-01', id?: string) =>
  parseRecordEventRequest({ ...(id ? { id } : {}), type, data, effectiveAt, source }, clock.now());
const chip = (slug: string) => request('ChipRegistered', { chip: slug, vendor: 'NVIDIA', model: slug, datacenter: true }, '2024-01-01');
const control = (measureId: string, chips: string[], id?: string) =>
  request('ControlImposed', { measureId, authority: 'US-BIS', direction: 'export', requirement: 'license_required', scope: { chips }, destinations: ['CN'], title: measureId }, '2025-04-09', id);
const count = async () => Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM events`)).rows[0]!.n);

describe('importing policy events', () => {
  it('decides each event against the store and everything earlier in the import, then writes them at once', async () => {
    const [a, b] = [`chip-a-${randomUUID().slice(0, 8)}`, `chip-b-${randomUUID().slice(0, 8)}`];
    await new RecordPolicyEvent(store).handle(chip(a), { actor: 'user:spec' });
    const imposed = randomUUID();
    const result = await importer.handle(
      [
        { ...chip(b), causationId: 'dataset:spec:1' },
        { ...control(`m-${b}`, [a, b], imposed) },
        { ...request('EventCorrected', { eventId: imposed, effectiveAt: '2025-04-10', reason: 'date' }) },
        { ...request('ControlLifted', { measureId: `m-${b}`, reason: 'over' }, '2025-06-01') },
      ],
      { actor: 'system:spec', correlationId: 'import:spec' },
    );
    expect(result).toMatchObject({ imported: 4, alreadyRecorded: 0, duplicate: false });
    const measure = await store.readStream(`measure-m-${b}`);
    expect(measure.map((e) => e.type)).toEqual(['ControlImposed', 'EventCorrected', 'ControlLifted']);
    // Provenance on every event; a request's own cause on its event only.
    expect(measure.map((e) => e.metadata)).toEqual(measure.map(() => ({ actor: 'system:spec', source, correlationId: 'import:spec' })));
    expect(measure[0]).toMatchObject({ id: imposed });
    expect((await store.readStream(`chip-${b}`))[0]!.metadata).toEqual({ actor: 'system:spec', source, correlationId: 'import:spec', causationId: 'dataset:spec:1' });
    expect(await verifyIntegrity(db, () => clock.now())).toMatchObject({ ok: true });
  });

  it('refuses the whole import when one event is refused, naming it, and writes nothing', async () => {
    const before = await count();
    const slug = `chip-c-${randomUUID().slice(0, 8)}`;
    const refused = importer.handle([chip(slug), control(`m-${slug}`, [slug, 'never-registered'])], { actor: 'system:spec' });
    await expect(refused).rejects.toMatchObject({ message: expect.stringMatching(/^Event 2 of the import: .*never-registered/) });
    const lifted = importer.handle([request('ControlLifted', { measureId: `none-${slug}`, reason: 'x' })], { actor: 'system:spec' });
    await expect(lifted).rejects.toMatchObject({ code: 'measure_not_imposed', message: expect.stringMatching(/^Event 1 of the import/) });
    const retracted = importer.handle([request('EventRetracted', { eventId: randomUUID(), reason: 'x' })], { actor: 'system:spec' });
    await expect(retracted).rejects.toMatchObject({ code: 'event_not_found' });
    expect(await count()).toBe(before);
  });

  it('a retried import records nothing twice; the same id with other content is a conflict', async () => {
    const slug = `chip-d-${randomUUID().slice(0, 8)}`;
    const id = randomUUID();
    const requests = [{ ...chip(slug), id }, control(`m-${slug}`, [slug], randomUUID())];
    expect(await importer.handle(requests, { actor: 'system:spec' })).toMatchObject({ imported: 2 });
    const before = await count();
    expect(await importer.handle(requests, { actor: 'system:spec' })).toMatchObject({ imported: 0, alreadyRecorded: 2, duplicate: true });
    const changed = { ...request('ChipRegistered', { chip: slug, vendor: 'AMD', model: slug, datacenter: true }, '2024-01-01'), id };
    await expect(importer.handle([changed], { actor: 'system:spec' })).rejects.toBeInstanceOf(EventIdConflictError);
    expect(await count()).toBe(before);
  });
});
