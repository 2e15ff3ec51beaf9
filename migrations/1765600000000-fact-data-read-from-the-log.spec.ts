import { Database } from '@chiptrail/db';
import { parseRecordEventRequest, type PolicyEventType, type Source } from '@chiptrail/domain';
import { EventStore } from '@chiptrail/event-store';
import { RecordPolicyEvent } from '@chiptrail/policy';
import { ProjectionRunner } from '@chiptrail/projections';
import { Clock, Logger } from '@chiptrail/runtime';
import { FACT_VERSIONS, PolicyProjection, VERSION_DATA, VERSION_SOURCE } from '@chiptrail/status';
import { createTestDatabase, type TestDatabase } from '@chiptrail/testing';
import { FactDataReadFromTheLog1765600000000 } from './1765600000000-fact-data-read-from-the-log';

/**
 * Fact versions stored with copies of their data and source (before) and with only a reference to the log (after)
 * hold the same: down copies what the references name, up names what the copies came from.
 */
let database: TestDatabase;
let owner: Database;
const clock = new Clock();
const source: Source = { url: 'https://example.gov/rule', title: 'Rule', publishedAt: '2024-01-01', confidence: 'high' };

beforeAll(async () => {
  database = await createTestDatabase('fact_data');
  owner = await Database.connect({ url: database.ownerUrl, poolSize: 2, applicationName: 'fact-data-spec' });
});

afterAll(async () => {
  await owner?.close();
  await database?.drop();
});

it('moves fact versions between copied data and data read from the log, both ways, without changing them', async () => {
  const store = new EventStore(owner, clock);
  const record = new RecordPolicyEvent(store);
  const post = async (type: PolicyEventType, data: Record<string, unknown>, effectiveAt?: string) =>
    (await record.handle(parseRecordEventRequest({ type, data, effectiveAt, source }, clock.now()), { actor: 'user:spec' })).id;
  await post('ChipRegistered', { chip: 'x100', vendor: 'NVIDIA', model: 'X100', datacenter: true, specs: { denseTops: { fp16: 900 }, dieAreaMm2: 800 } }, '2022-01-01');
  const control = { measureId: 'm1', authority: 'US-BIS', direction: 'export', requirement: 'license_required', scope: { chips: ['x100'] }, destinations: ['CN'], title: 'First' };
  const imposed = await post('ControlImposed', control, '2024-01-01');
  // Corrected with data, then with a date only (the data stays the first correction's), then the first withdrawn.
  const withData = await post('EventCorrected', { eventId: imposed, reason: 'Misread destinations.', data: { ...control, destinations: ['CN', 'HK'], title: 'Corrected' } });
  await post('EventCorrected', { eventId: imposed, reason: 'Later start.', effectiveAt: '2024-02-01' });
  const licence = await post('LicenseGranted', { licenseId: 'l1', authority: 'US-BIS', holder: 'NVIDIA', chips: ['x100'], destinations: ['CN'], title: 'Licence' }, '2024-03-01');
  await post('EventCorrected', { eventId: licence, reason: 'Misread destinations.', data: { licenseId: 'l1', authority: 'US-BIS', holder: 'NVIDIA', chips: ['x100'], destinations: ['CN', 'MO'], title: 'Licence, corrected' } });
  await post('EventRetracted', { eventId: withData, reason: 'Misread.' });
  await new ProjectionRunner(owner, store, new PolicyProjection(), { pollMs: 10, logger: new Logger('error') }).catchUp();

  const versions = async (from: string) =>
    (await owner.query(`SELECT f.event_id, f.known_from, f.known_to, f.corrected_by, data, source FROM ${from} ORDER BY f.event_id, f.known_from`)).rows;
  const referenced = await versions(`(SELECT f.*, ${VERSION_DATA} AS data, ${VERSION_SOURCE} AS source FROM ${FACT_VERSIONS}) f`);
  const dataFrom = (await owner.query(`SELECT event_id, known_from, data_from FROM policy_facts ORDER BY event_id, known_from`)).rows;
  expect(dataFrom.filter((row) => row.data_from !== null).length).toBeGreaterThanOrEqual(2);
  expect(referenced.find((row) => row.data.title === 'Corrected')).toBeDefined();
  expect(referenced.find((row) => row.data.title === 'Licence, corrected')).toBeDefined();

  const migration = new FactDataReadFromTheLog1765600000000();
  const runner = owner.dataSource.createQueryRunner();
  try {
    await migration.down(runner);
    expect(await versions('policy_facts f')).toEqual(referenced);
    await migration.up(runner);
  } finally {
    await runner.release();
  }
  expect((await owner.query(`SELECT event_id, known_from, data_from FROM policy_facts ORDER BY event_id, known_from`)).rows).toEqual(dataFrom);
});
