import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { Database } from '@chiptrail/db';
import { isEntityEventType, parseRecordEventRequest, statusFromLog, type Fact, type LoggedEvent, type PolicyEventType, type Source } from '@chiptrail/domain';
import { EventStore, START } from '@chiptrail/event-store';
import { ImportPolicyEvents, RecordPolicyEvent } from '@chiptrail/policy';
import { ProjectionRunner, rebuildProjection, type StagedBatch } from '@chiptrail/projections';
import { Clock, Logger } from '@chiptrail/runtime';
import { createTestDatabase, type TestDatabase } from '@chiptrail/testing';
import { FACT_VERSIONS, POLICY_LOG, PolicyProjection, VERSION_DATA, indexKeys, type PolicyLogEvent } from './policy.projection';
import { ChipKnowledgeReader, statusChanges } from './chip-knowledge';
import { StatusQueries } from './status.queries';

/**
 * The projection must store exactly what the status rules say, on both axes: every stored answer is compared with
 * the answer computed straight from the log (statusFromLog) for a grid of chips, destinations, valid times and
 * knowledge times, after a history with amendments, corrections and retractions, projected in small batches.
 */
let database: TestDatabase;
let db: Database;
let owner: Database;
let store: EventStore;
let record: RecordPolicyEvent;
let queries: StatusQueries;
let reader: ChipKnowledgeReader;
const clock = new Clock();
const source: Source = { url: 'https://example.gov/x', title: 'Source', publishedAt: '2024-01-01', confidence: 'high' };

beforeAll(async () => {
  database = await createTestDatabase('policy');
  db = await Database.connect({ url: database.appUrl, poolSize: 4, applicationName: 'policy-spec' });
  owner = await Database.connect({ url: database.ownerUrl, poolSize: 2, applicationName: 'policy-spec-owner' });
  store = new EventStore(db, clock);
  record = new RecordPolicyEvent(store);
  reader = new ChipKnowledgeReader(db);
  queries = new StatusQueries(db, clock, reader);
});

afterAll(async () => {
  await db?.close();
  await owner?.close();
  await database?.drop();
});

async function post(type: PolicyEventType, data: Record<string, unknown>, effectiveAt?: string): Promise<string> {
  const parsed = parseRecordEventRequest({ type, data, effectiveAt, source }, clock.now());
  return (await record.handle(parsed, { actor: 'user:spec' })).id;
}

async function loggedEvents(): Promise<LoggedEvent[]> {
  const events = await store.readAll({ txid: '0', position: 0 }, 100_000);
  return events.map((e) => ({
    id: e.id,
    type: e.type as PolicyEventType,
    data: e.data,
    effectiveAt: e.effectiveAt,
    recordedAt: e.recordedAt,
    source: e.metadata.source as Source,
  }));
}

const chip = (slug: string, tops: Record<string, number>, die: number, datacenter = true) =>
  post('ChipRegistered', { chip: slug, vendor: 'NVIDIA', model: slug, datacenter, specs: { denseTops: tops, dieAreaMm2: die } }, '2022-01-01');

it('answers, for every chip, destination, valid time and knowledge time, what the status rules give from the log', async () => {
  const runner = new ProjectionRunner(db, store, new PolicyProjection(3), { pollMs: 10, logger: new Logger('error') });
  await chip('h20', { fp16: 148 }, 814);
  await chip('a800', { bf16: 312 }, 826);
  await runner.catchUp();
  const h20 = await post('ControlImposed', {
    measureId: 'h20-letter', authority: 'US-BIS', direction: 'export', requirement: 'license_required',
    scope: { chips: ['h20'] }, destinations: ['CN', 'HK'], title: 'H20 letter',
  }, '2025-04-09');
  await post('ControlImposed', {
    measureId: 'acs', authority: 'US-BIS', direction: 'export', requirement: 'license_required', licensePolicy: 'presumption_of_denial',
    scope: { eccnBands: ['3A090.a', '3A090.b'] }, destinations: ['CN', 'MO', 'SA'], title: 'AC/S rule',
  }, '2023-11-17');
  await runner.catchUp();
  await chip('b200', { int8: 4500 }, 1614);
  await post('LicenseGranted', { licenseId: 'h20-l', authority: 'US-BIS', holder: 'NVIDIA', chips: ['h20'], destinations: ['CN'], conditions: [{ type: 'revenue_share', percent: 15 }] }, '2025-08-08');
  await post('ControlAmended', { measureId: 'acs', destinations: ['CN', 'MO', 'SA', 'AE'] }, '2024-06-01');
  await post('AdvisoryIssued', { advisoryId: 'avoid', authority: 'CN-MIIT', level: 'discouraged', chips: ['h20'], destinations: ['CN'], title: 'Avoid' }, '2025-08-12');
  await post('InvestigationOpened', { investigationId: 'samr', authority: 'CN-SAMR', kind: 'antitrust', subjects: { companies: ['NVIDIA'] }, title: 'Probe' }, '2024-12-09');
  await runner.catchUp();
  const correction = await post('EventCorrected', { eventId: h20, effectiveAt: '2025-04-01', reason: 'earlier letter' });
  await post('ControlLifted', { measureId: 'h20-letter' }, '2026-01-01');
  const advisoryRetraction = await post('EventRetracted', { eventId: correction, reason: 'was right first time' });
  await chip('l20', { bf16: 119.5 }, 608.5);
  await runner.catchUp();
  await post('ChipSpecsUpdated', { chip: 'l20', specs: { tpp: 2500, performanceDensity: 4 } }, '2024-01-01');
  await post('EventRetracted', { eventId: h20, reason: 'recorded in error' });
  await runner.catchUp();
  expect(advisoryRetraction).toBeTruthy();

  const log = await loggedEvents();
  const knowledge = [...new Set(log.map((e) => e.recordedAt.getTime()))].flatMap((t) => [t - 1, t]).map((t) => new Date(t));
  const validTimes = ['2022-06-01', '2023-11-17', '2024-01-01', '2024-07-01', '2025-04-05', '2025-04-09', '2025-08-10', '2025-09-01', '2026-02-01'].map(
    (d) => new Date(`${d}T12:00:00Z`),
  );
  let compared = 0;
  for (const chipName of ['h20', 'a800', 'b200', 'l20', 'unknown']) {
    for (const destination of ['CN', 'HK', 'MO', 'SA', 'AE', 'BR']) {
      const lookups = knowledge.flatMap((knownAt) => validTimes.map((asOf) => ({ chip: chipName, destination, asOf, knownAt })));
      const answered = await queries.lookup(lookups);
      lookups.forEach((lookup, index) => {
        const expected = statusFromLog(log, lookup.chip, lookup.destination, lookup.asOf, lookup.knownAt);
        const actual = answered[index];
        if (!expected) {
          expect({ lookup, actual }).toEqual({ lookup, actual: undefined });
        } else {
          expect({ lookup, answer: actual && { classification: actual.classification, export: actual.export, import: actual.import, investigations: actual.investigations } }).toEqual({ lookup, answer: expected.answer });
        }
        compared += 1;
      });
    }
  }
  expect(compared).toBeGreaterThan(1000);

  // Spot checks that the history above means what it should.
  const at = (d: string) => new Date(`${d}T12:00:00Z`);
  const now = clock.now();
  const [h20Now, a800Now, l20Now] = await queries.lookup([
    { chip: 'h20', destination: 'CN', asOf: at('2025-09-01'), knownAt: now },
    { chip: 'a800', destination: 'AE', asOf: at('2024-07-01'), knownAt: now },
    { chip: 'l20', destination: 'CN', asOf: at('2024-07-01'), knownAt: now },
  ]);
  expect(h20Now!.export.status).toBe('unrestricted');
  expect(h20Now!.import.status).toBe('discouraged');
  expect(a800Now!.export.status).toBe('license_required');
  expect(l20Now!.classification.band).toBe('3A090.b');
  expect(l20Now!.export.status).toBe('license_required');
});

it("finds a chip's facts as known at each instant by index: the versions a scan of all of them picks", async () => {
  // The history above holds versions closed by corrections and retractions, so instants before them take the branch
  // over closed versions; the band-wide rule and the investigation of the vendor take theirs.
  const { rows: versions } = await owner.query<{ event_id: string; known_from: Date; known_to: Date | number; entity_key: string | null; chips: string[]; companies: string[]; band_scoped: boolean; type: string; data: Record<string, unknown> }>(
    `SELECT f.event_id, f.known_from, f.known_to, f.entity_key, f.chips, f.companies, f.band_scoped, f.type, ${VERSION_DATA} AS data
       FROM ${FACT_VERSIONS}`,
  );
  expect(versions.some((v) => v.known_to instanceof Date)).toBe(true);
  const instants = [...new Set(versions.flatMap((v) => [v.known_from, v.known_to]).filter((t): t is Date => t instanceof Date).map((t) => t.getTime()))]
    .flatMap((t) => [t - 1, t])
    .map((t) => new Date(t));
  let compared = 0;
  for (const chipName of ['h20', 'a800', 'b200', 'l20']) {
    for (const knownAt of instants) {
      const known = versions.filter((v) => v.known_from <= knownAt && (typeof v.known_to === 'number' || v.known_to > knownAt));
      const registration = known.find((v) => v.type === 'ChipRegistered' && v.data.chip === chipName);
      if (!registration) continue;
      const vendor = String(registration.data.vendor).trim().toLowerCase();
      const direct = known.filter((v) => v.chips.includes(chipName) || v.companies.includes(vendor) || v.band_scoped);
      const entities = new Set(direct.map((v) => v.entity_key).filter((key): key is string => key !== null));
      const expected = known.filter((v) => direct.includes(v) || (v.entity_key !== null && entities.has(v.entity_key))).map((v) => `${v.event_id} ${JSON.stringify(v.data)}`);
      const actual = (await reader.factsConcerning(chipName, vendor, knownAt)).facts.map((fact) => `${fact.eventId} ${JSON.stringify(fact.data)}`);
      expect({ chipName, knownAt, facts: actual.sort() }).toEqual({ chipName, knownAt, facts: expected.sort() });
      compared += 1;
    }
  }
  expect(compared).toBeGreaterThan(40);
});

it('a rebuild reproduces the live read model exactly', async () => {
  const snapshot = async () => ({
    facts: (await owner.query(`SELECT * FROM policy_facts ORDER BY event_id, known_from`)).rows,
    corrections: (await owner.query(`SELECT * FROM fact_corrections ORDER BY correction_id`)).rows,
    registry: (await owner.query(`SELECT * FROM chip_registry ORDER BY chip`)).rows,
    changes: (await owner.query(`SELECT * FROM knowledge_changes ORDER BY event_id`)).rows,
    // Indexes the replay did not need are built after it: the same ones, under the same names, must come back.
    indexes: (await owner.query(`SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY ($1) ORDER BY 1`, [['policy_facts', 'fact_corrections', 'chip_registry', 'knowledge_changes']])).rows,
  });
  const live = await snapshot();
  expect(live.changes.length).toBeGreaterThan(10);
  expect(live.indexes.length).toBeGreaterThan(8);
  await rebuildProjection(owner, new EventStore(owner, clock), new PolicyProjection());
  expect(await snapshot()).toEqual(live);
  // Analysed while it was replayed, by the columns its lookups search (the planner needs their statistics), so it
  // comes back with them; knowledge_changes is only appended to while replaying, and read by its key.
  const analysed = await owner.query(
    `SELECT tablename || '.' || attname AS "column" FROM pg_stats WHERE schemaname = 'public' AND tablename = ANY ($1) ORDER BY 1`,
    [['policy_facts', 'knowledge_changes']],
  );
  expect(analysed.rows.map((row) => row.column)).toEqual(['policy_facts.chip', 'policy_facts.entity_key', 'policy_facts.event_id', 'policy_facts.known_from', 'policy_facts.known_to']);
});

it('stages each batch on top of one not yet written, and writes what applying them one by one writes', async () => {
  // Corrections (one with data), retractions (of a correction too) and registry changes, each its own append.
  const runner = new ProjectionRunner(db, store, new PolicyProjection(), { pollMs: 10, logger: new Logger('error') });
  await chip('staged-x', { fp16: 100 }, 600);
  const measure = await post('ControlImposed', {
    measureId: 'staged-m', authority: 'US-BIS', direction: 'export', requirement: 'license_required',
    scope: { chips: ['staged-x'] }, destinations: ['CN'], title: 'Staged rule',
  }, '2025-01-01');
  const withData = await post('EventCorrected', {
    eventId: measure, reason: 'scope', data: { measureId: 'staged-m', authority: 'US-BIS', direction: 'export', requirement: 'prohibited', scope: { chips: ['staged-x'] }, destinations: ['CN', 'RU'], title: 'Staged rule, corrected' },
  });
  const later = await post('EventCorrected', { eventId: measure, effectiveAt: '2025-02-01', reason: 'date' });
  await post('EventRetracted', { eventId: later, reason: 'date was right' });
  const specs = await post('ChipSpecsUpdated', { chip: 'staged-x', specs: { tpp: 5000, performanceDensity: 8 } }, '2024-06-01');
  await post('ControlAmended', { measureId: 'staged-m', destinations: ['CN', 'RU', 'IR'] }, '2025-03-01');
  await post('EventRetracted', { eventId: specs, reason: 'wrong chip' });
  // Each of these needs what the append just before it changed: the entity's other facts, the chip's own facts (the
  // earlier-dated specs stay the latest), the chips of a vendor.
  await post('ControlImposed', {
    measureId: 'staged-n', authority: 'US-BIS', direction: 'export', requirement: 'license_required',
    scope: { chips: ['staged-x'] }, destinations: ['CN'], title: 'Second staged rule',
  }, '2025-05-01');
  await post('ControlAmended', { measureId: 'staged-n', destinations: ['CN', 'RU'] }, '2025-06-01');
  await post('ChipSpecsUpdated', { chip: 'staged-x', specs: { tpp: 6000, performanceDensity: 9 } }, '2024-06-01');
  await post('ChipSpecsUpdated', { chip: 'staged-x', specs: { tpp: 1000, performanceDensity: 1 } }, '2024-03-01');
  await chip('staged-y', { fp16: 50 }, 400);
  await post('InvestigationOpened', { investigationId: 'staged-i', authority: 'CN-SAMR', kind: 'antitrust', subjects: { companies: ['NVIDIA'] }, title: 'Staged probe' }, '2025-01-01');
  await post('EventRetracted', { eventId: withData, reason: 'scope was right' });
  await runner.catchUp();
  const tables = ['policy_facts', 'fact_corrections', 'chip_registry', 'knowledge_changes'];
  const snapshot = async (schema: string) => ({
    facts: (await owner.query(`SELECT * FROM ${schema}.policy_facts ORDER BY event_id, known_from`)).rows,
    corrections: (await owner.query(`SELECT * FROM ${schema}.fact_corrections ORDER BY correction_id`)).rows,
    registry: (await owner.query(`SELECT * FROM ${schema}.chip_registry ORDER BY chip`)).rows,
    changes: (await owner.query(`SELECT * FROM ${schema}.knowledge_changes ORDER BY event_id`)).rows,
  });
  const live = await snapshot('public');
  expect(live.facts.some((fact) => fact.data_from === withData)).toBe(true);

  // Each append staged while the one before is staged but not written (its transaction open, its rows unseen): the
  // order a rebuild runs them in, here without timing deciding what the tables show.
  await owner.query(`DROP SCHEMA IF EXISTS staged CASCADE`);
  await owner.query(`CREATE SCHEMA staged`);
  for (const table of tables) await owner.query(`CREATE TABLE staged.${table} (LIKE public.${table} INCLUDING ALL)`);
  const appends: PolicyLogEvent[][] = [];
  for (const event of await store.readWholeTransactions(START, 100_000, undefined, POLICY_LOG)) {
    const last = appends.at(-1);
    if (last && last[0]!.transactionId === event.transactionId) last.push(event);
    else appends.push([event]);
  }
  const clients = [new Client({ connectionString: database.ownerUrl }), new Client({ connectionString: database.ownerUrl })];
  await Promise.all(clients.map((client) => client.connect()));
  try {
    const projection = new PolicyProjection();
    let previous: StagedBatch | undefined;
    let open: { batch: StagedBatch | undefined; client: Client } | undefined;
    for (const [index, events] of appends.entries()) {
      const client = clients[index % 2]!;
      await client.query(`BEGIN`);
      await client.query(`SET LOCAL search_path = staged, public`);
      const batch = await projection.stage(events, client, previous);
      if (open) {
        await open.batch?.flush();
        await open.client.query(`COMMIT`);
      }
      open = { batch, client };
      previous = batch ?? previous;
    }
    await open?.batch?.flush();
    await open?.client.query(`COMMIT`);
  } finally {
    await Promise.all(clients.map((client) => client.end()));
  }
  expect(appends.length).toBeGreaterThanOrEqual(15);
  expect(await snapshot('staged')).toEqual(live);
  await owner.query(`DROP SCHEMA staged CASCADE`);

  // And a rebuild in batches of a few events, where the batch being written and the one worked out overlap.
  for (const batchSize of [1, 3]) {
    await rebuildProjection(owner, new EventStore(owner, clock), new PolicyProjection(), undefined, undefined, batchSize);
    expect({ batchSize, ...(await snapshot('public')) }).toEqual({ batchSize, ...live });
  }
});

it('writes an import\'s rows with their text exactly as sent, and a rebuild writes the same rows', async () => {
  const slug = `import-${randomUUID().slice(0, 8)}`;
  // COPY's own escapes (backslash, tab, line breaks) and an array literal's (quotes, commas, braces) in one place.
  const title = 'Rule "A" \\ B\tC\nD\r, {E} ü 😀';
  const company = 'Acme, "Inc" {x} \\ y';
  const bodies = [
    { type: 'ChipRegistered', data: { chip: slug, vendor: 'NVIDIA', model: slug, datacenter: true, specs: { denseTops: { fp16: 148 }, dieAreaMm2: 814 } }, effectiveAt: '2022-01-01' },
    ...[1, 2, 3, 4].map((n) => ({
      type: 'ControlImposed',
      data: { measureId: `${slug}-m${n}`, authority: 'US-BIS', direction: 'export', requirement: n % 2 ? 'license_required' : 'prohibited', scope: { chips: [slug] }, destinations: ['CN', 'HK'], title: `${title} ${n}` },
      effectiveAt: `2024-0${n}-01`,
    })),
    { type: 'InvestigationOpened', data: { investigationId: `${slug}-i`, authority: 'CN-SAMR', kind: 'antitrust', subjects: { chips: [slug], companies: [company] }, title }, effectiveAt: '2024-06-01' },
  ];
  await new ImportPolicyEvents(store, clock).handle(bodies.map((body) => parseRecordEventRequest({ ...body, source }, clock.now())), { actor: 'user:spec' });
  await new ProjectionRunner(db, store, new PolicyProjection(), { pollMs: 10, logger: new Logger('error') }).catchUp();
  const rows = async () => ({
    changes: (await owner.query(`SELECT * FROM knowledge_changes WHERE $1 = ANY (chips) ORDER BY event_id`, [slug])).rows,
    facts: (await owner.query(`SELECT * FROM policy_facts WHERE $1 = ANY (chips) ORDER BY event_id, known_from`, [slug])).rows,
  });
  const live = await rows();

  // One import, one knowledge time: every one of its events may change the chip's status, known at that time.
  const imported = (await loggedEvents()).filter((event) => JSON.stringify(event.data).includes(slug));
  expect(live.changes.map((change) => change.event_id).sort()).toEqual(imported.map((event) => event.id).sort());
  expect(new Set(live.changes.map((change) => change.known_at.getTime())).size).toBe(1);
  for (const change of live.changes) expect(change.chips).toEqual([slug]);
  // Compared just before and at that time: a change for each destination named (here and by the earlier band rule)
  // and for every other ("*"), each once.
  const knownAt = live.changes[0]!.known_at as Date;
  const changes = statusChanges(slug, knownAt, await reader.at(slug, new Date(knownAt.getTime() - 1)), await reader.at(slug, knownAt));
  const destinations = changes.map((change) => change.destination);
  expect(destinations).toEqual([...new Set(destinations)]);
  expect(destinations).toEqual(expect.arrayContaining(['*', 'CN', 'HK']));
  expect(changes.every((change) => change.before.length === 0 && change.after.length > 0)).toBe(true);
  expect(live.facts.find((fact) => fact.type === 'InvestigationOpened')!.companies).toEqual([company.toLowerCase()]);
  const [answer] = await queries.lookup([{ chip: slug, destination: 'CN', asOf: new Date('2024-07-01T00:00:00Z'), knownAt: clock.now() }]);
  expect(answer!.export.basis.map((basis) => basis.title)).toContain(`${title} 4`);
  expect(answer!.investigations.map((investigation) => investigation.title)).toEqual([title]);

  await rebuildProjection(owner, new EventStore(owner, clock), new PolicyProjection());
  expect(await rows()).toEqual(live);
});

it('reads of the log give each event its instants and the lookup keys its whole body gives', async () => {
  const whole = await store.readAll(START, 100_000);
  const read = new Map((await store.readWholeTransactions(START, 100_000, undefined, POLICY_LOG)).map((event) => [event.id, event]));
  const keys = (event: { id: string; type: string; data: Record<string, unknown>; effectiveAt: Date; recordedAt: Date }) =>
    indexKeys({ eventId: event.id, type: event.type as Fact['type'], data: event.data, effectiveAt: event.effectiveAt, recordedAt: event.recordedAt });
  const entityEvents = whole.filter((event) => isEntityEventType(event.type as PolicyEventType));
  expect(new Set(entityEvents.map((event) => event.type)).size).toBeGreaterThanOrEqual(8);
  for (const event of entityEvents) expect({ id: event.id, keys: keys(read.get(event.id)!) }).toEqual({ id: event.id, keys: keys(event) });
  const instants = (event: { id: string; recordedAt: Date; effectiveAt: Date }) => [event.id, event.recordedAt.getTime(), event.effectiveAt.getTime()];
  expect(whole.map((event) => instants(read.get(event.id)!))).toEqual(whole.map(instants));
});

it('searches GIN indexes without pending lists, which every lookup would scan whole', async () => {
  const { rows } = await owner.query<{ index: string; options: string[] | null }>(
    `SELECT c.relname AS index, c.reloptions AS options FROM pg_class c JOIN pg_am a ON a.oid = c.relam
      WHERE a.amname = 'gin' AND c.relnamespace = 'public'::regnamespace ORDER BY 1`,
  );
  expect(rows.map((row) => row.index)).toEqual(expect.arrayContaining(['policy_facts_current_chips_idx', 'policy_facts_current_companies_idx']));
  for (const row of rows) expect({ index: row.index, options: row.options }).toEqual({ index: row.index, options: ['fastupdate=off'] });
});

it('ignores events of other kinds', async () => {
  await store.append(`other-${randomUUID()}`, 'any', [{ type: 'FeedPolled', data: {}, metadata: { actor: 'system:test' }, effectiveAt: new Date() }]);
  const runner = new ProjectionRunner(db, store, new PolicyProjection(), { pollMs: 10, logger: new Logger('error') });
  expect(await runner.catchUp()).toBe(1);
});

it('says the same of an append whether it was applied in one batch or split across two', async () => {
  // Two appends in one millisecond share a knowledge time (times are kept to the millisecond), and a batch may end
  // between them: the second batch must see the first one's facts as known at that same time.
  const together = `same-instant-${randomUUID().slice(0, 8)}`;
  const apart = `same-instant-${randomUUID().slice(0, 8)}`;
  await chip(together, { fp16: 148 }, 814);
  await chip(apart, { fp16: 148 }, 814);
  await new ProjectionRunner(db, store, new PolicyProjection(), { pollMs: 10, logger: new Logger('error') }).catchUp();
  // Two controls per chip, applied by hand (no runner follows) as if recorded in one millisecond.
  const controls = async (slug: string) => {
    const ids: string[] = [];
    for (const [n, requirement] of [[1, 'license_required'], [2, 'prohibited']] as const) {
      ids.push(await post('ControlImposed', { measureId: `${slug}-m${n}`, authority: 'US-BIS', direction: 'export', requirement, scope: { chips: [slug] }, destinations: ['CN'], title: `Rule ${n}` }, `2024-0${n}-01`));
    }
    const events = (await store.readWholeTransactions(START, 100_000, undefined, POLICY_LOG)).filter((event) => ids.includes(event.id));
    return events.map((event) => ({ ...event, recordedAt: events[0]!.recordedAt }));
  };
  const [togetherEvents, apartEvents] = [await controls(together), await controls(apart)];
  const projection = new PolicyProjection();
  await db.transaction((tx) => projection.apply(togetherEvents, tx));
  await db.transaction((tx) => projection.apply(apartEvents.slice(0, 1), tx));
  await db.transaction((tx) => projection.apply(apartEvents.slice(1), tx));

  const said = async (slug: string, events: readonly PolicyLogEvent[]) => {
    const instant = events[0]!.recordedAt;
    const { rows } = await owner.query(`SELECT event_id, known_at, chips FROM knowledge_changes WHERE event_id = ANY ($1::uuid[]) ORDER BY array_position($1::uuid[], event_id)`, [events.map((e) => e.id)]);
    const changes = statusChanges(slug, instant, await reader.at(slug, new Date(instant.getTime() - 1)), await reader.at(slug, instant));
    // The two histories differ only in their chip, event ids and instant.
    let text = JSON.stringify({ rows, changes }).replaceAll(slug, 'chip').replaceAll(instant.toISOString(), 'instant');
    events.forEach((event, index) => (text = text.replaceAll(event.id, `event-${index}`)));
    return JSON.parse(text) as { rows: Array<{ event_id: string; known_at: string; chips: string[] }>; changes: Array<{ destination: string }> };
  };
  const split = await said(apart, apartEvents);
  expect(split.rows).toEqual([
    { event_id: 'event-0', known_at: 'instant', chips: ['chip'] },
    { event_id: 'event-1', known_at: 'instant', chips: ['chip'] },
  ]);
  expect(split.changes.map((change) => change.destination)).toEqual(['CN']);
  expect(split).toEqual(await said(together, togetherEvents));
});
