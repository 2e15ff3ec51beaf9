import { randomUUID } from 'node:crypto';
import { ManualClock } from '@chiptrail/runtime';
import { TEST_ADMIN, readJson, startTestApp, type TestApp } from '@chiptrail/testing';

/** The compliance API over real PostgreSQL: every endpoint, its roles and its errors. */
let app: TestApp;
const source = { url: 'https://www.federalregister.gov/d/2023-23055', title: 'AC/S IFR', publishedAt: '2023-10-25', confidence: 'high' };

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

async function post(body: unknown, role: 'curator' | 'admin' | 'viewer' = 'curator') {
  const response = await app.call(role, 'POST', '/api/v1/events', body);
  return { status: response.status, body: await readJson(response) };
}

const h20 = { chip: 'nvidia-h20', vendor: 'NVIDIA', model: 'H20', datacenter: true, specs: { denseTops: { fp16: 148, int8: 296 }, dieAreaMm2: 814 } };
const a800 = { chip: 'nvidia-a800', vendor: 'NVIDIA', model: 'A800', datacenter: true, specs: { denseTops: { bf16: 312, int8: 624 }, dieAreaMm2: 826 } };
const letter = {
  measureId: 'us-h20-letter',
  authority: 'US-BIS',
  direction: 'export',
  requirement: 'license_required',
  scope: { chips: ['nvidia-h20'] },
  destinations: ['CN', 'HK', 'MO'],
  title: 'H20 is-informed letter',
};

describe('recording events', () => {
  it('records an event: 201 with id and position; a retry with the same id answers 200 with the original', async () => {
    const id = randomUUID();
    const first = await post({ id, type: 'ChipRegistered', data: h20, effectiveAt: '2025-04-09', source });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ id, type: 'ChipRegistered', streamId: 'chip-nvidia-h20', streamVersion: 1, duplicate: false });
    expect(typeof first.body.position).toBe('number');
    const retry = await post({ id, type: 'ChipRegistered', data: h20, effectiveAt: '2025-04-09', source });
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ id, position: first.body.position, duplicate: true });
    const conflicting = await post({ id, type: 'ChipRegistered', data: { ...h20, model: 'H20 (other)' }, effectiveAt: '2025-04-09', source });
    expect(conflicting.status).toBe(409);
    expect(conflicting.body).toMatchObject({ code: 'event_id_conflict', eventId: id });
  });

  it('refuses what the stream does not allow, with 409 and a code', async () => {
    expect(await post({ type: 'ChipRegistered', data: h20, effectiveAt: '2025-04-09', source })).toMatchObject({
      status: 409,
      body: { code: 'chip_already_registered', status: 409 },
    });
    expect(await post({ type: 'ControlLifted', data: { measureId: 'never-imposed' }, effectiveAt: '2025-04-09', source })).toMatchObject({
      status: 409,
      body: { code: 'measure_not_imposed' },
    });
  });

  it.each([
    ['an unknown type', { type: 'ChipBanned', data: {}, effectiveAt: '2025-01-01', source }, 'unknown_event_type', 'type'],
    ['a malformed date', { type: 'ChipRegistered', data: a800, effectiveAt: '2025-13-01', source }, 'invalid_field', 'effectiveAt'],
    ['a bad destination', { type: 'ControlImposed', data: { ...letter, destinations: ['CN', 'Chin'] }, effectiveAt: '2025-04-09', source }, 'invalid_field', 'data.destinations.1'],
    ['an unregistered chip', { type: 'ControlImposed', data: { ...letter, measureId: 'x', scope: { chips: ['nvidia-h2o'] } }, effectiveAt: '2025-04-09', source }, 'unknown_chip', 'data.scope.chips.0'],
    ['a missing source', { type: 'ChipRegistered', data: a800, effectiveAt: '2025-01-01' }, 'invalid_field', 'source'],
    ['a non-http source', { type: 'ChipRegistered', data: a800, effectiveAt: '2025-01-01', source: { ...source, url: 'ftp://x' } }, 'invalid_field', 'source.url'],
    ['an unknown field', { type: 'ChipRegistered', data: { ...a800, colour: 'green' }, effectiveAt: '2025-01-01', source }, 'invalid_field', 'data'],
    ['a body that is not an object', [1, 2, 3], 'invalid_field', '(body)'],
  ])('answers 400 naming the field for %s', async (_label, body, code, field) => {
    await app.settle();
    const before = await readJson(await app.call('viewer', 'GET', '/api/v1/events?limit=500'));
    const response = await post(body);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code, status: 400 });
    expect((response.body.problems as Array<{ field: string }>)[0]!.field).toBe(field);
    expect(typeof response.body.detail).toBe('string');
    await app.settle();
    expect(await readJson(await app.call('viewer', 'GET', '/api/v1/events?limit=500'))).toEqual(before);
  });

  it('answers malformed JSON with 400, a wrong media type with 415 and an oversized body with 413', async () => {
    const malformed = await app.call('curator', 'POST', '/api/v1/events', '{"type": ');
    expect(malformed.status).toBe(400);
    expect(await readJson(malformed)).toMatchObject({ code: 'malformed_request' });
    const wrongType = await app.call('curator', 'POST', '/api/v1/events', 'type=ChipRegistered', { 'content-type': 'text/plain' });
    expect(wrongType.status).toBe(415);
    const huge = await app.call('curator', 'POST', '/api/v1/events', JSON.stringify({ pad: 'x'.repeat(2 * 1024 * 1024) }));
    expect(huge.status).toBe(413);
    expect(huge.headers.get('content-type')).toContain('application/problem+json');
    const badUrl = await app.call('viewer', 'GET', '/api/v1/chips/%ff/status?destination=CN');
    expect(badUrl.status).toBe(400);
    expect(await readJson(badUrl)).toMatchObject({ code: 'malformed_url' });
    const longSegment = await app.call('viewer', 'GET', `/api/v1/events/${'f'.repeat(600)}`);
    expect(longSegment.status).toBe(414);
    expect(await readJson(longSegment)).toMatchObject({ code: 'uri_too_long' });
  });
});

describe('roles', () => {
  it('401 without or with a wrong credential, 403 for a role that is not enough', async () => {
    const anonymous = await app.call('anonymous', 'GET', '/api/v1/chips');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    expect(await readJson(anonymous)).toMatchObject({ code: 'unauthenticated' });
    const wrong = await fetch(`${app.baseUrl}/api/v1/chips`, { headers: { authorization: 'Bearer ct_key_0000000000000000_' + 'a'.repeat(43) } });
    expect(wrong.status).toBe(401);
    const viewerWrite = await post({ type: 'ChipRegistered', data: a800, effectiveAt: '2022-11-01', source }, 'viewer');
    expect(viewerWrite).toMatchObject({ status: 403, body: { code: 'forbidden', requiredRole: 'curator' } });
    expect((await app.call('curator', 'GET', '/api/v1/api-keys')).status).toBe(403);
    expect((await app.call('viewer', 'GET', '/api/v1/chips')).status).toBe(200);
  });

  it('admins create API keys (shown once, stored hashed) and revoke them', async () => {
    const created = await app.call('admin', 'POST', '/api/v1/api-keys', { name: 'ci', role: 'viewer' });
    expect(created.status).toBe(201);
    const key = await readJson(created);
    expect(key.key).toMatch(/^ct_key_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const stored = await app.runtime.db.query(`SELECT key_hash FROM api_keys WHERE id = $1`, [key.id]);
    expect(stored.rows[0].key_hash).toMatch(/^scrypt\$/);
    // The 43-character secret (base64url has underscores of its own, so it is cut by position).
    expect(stored.rows[0].key_hash).not.toContain(String(key.key).slice(-43));
    const listed = await readJson(await app.call('admin', 'GET', '/api/v1/api-keys'));
    expect(JSON.stringify(listed)).not.toContain(String(key.key));
    const use = () => fetch(`${app.baseUrl}/api/v1/chips`, { headers: { authorization: `Bearer ${key.key}` } });
    expect((await use()).status).toBe(200);
    expect((await app.call('admin', 'DELETE', `/api/v1/api-keys/${key.id}`)).status).toBe(204);
    expect((await use()).status).toBe(401);
    expect((await app.call('admin', 'POST', '/api/v1/api-keys', { name: '', role: 'root' })).status).toBe(400);
  });

  it('signs in with e-mail and password; a wrong password is 401', async () => {
    const ok = await app.call('anonymous', 'POST', '/api/v1/auth/login', TEST_ADMIN);
    expect(ok.status).toBe(200);
    expect(await readJson(ok)).toMatchObject({ token: expect.stringMatching(/^ct_tok_/), role: 'admin' });
    const bad = await app.call('anonymous', 'POST', '/api/v1/auth/login', { ...TEST_ADMIN, password: 'wrong password!' });
    expect(bad.status).toBe(401);
    expect(await readJson(bad)).toMatchObject({ code: 'invalid_credentials' });
  });
});

describe('status on two time axes', () => {
  let imposedId: string;
  let beforeLetter: string;

  beforeAll(async () => {
    expect((await post({ type: 'ChipRegistered', data: a800, effectiveAt: '2022-11-01', source })).status).toBe(201);
    await post({
      type: 'ControlImposed',
      data: { measureId: 'acs-2023', authority: 'US-BIS', direction: 'export', requirement: 'license_required', licensePolicy: 'presumption_of_denial', scope: { eccnBands: ['3A090.a', '3A090.b'] }, destinations: ['CN', 'MO'], title: 'AC/S IFR' },
      effectiveAt: '2023-11-17',
      source,
    });
    await app.settle();
    beforeLetter = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 5));
    imposedId = String((await post({ type: 'ControlImposed', data: letter, effectiveAt: '2025-04-09', source: { ...source, url: 'https://www.sec.gov/x', title: '8-K' } })).body.id);
    await post({
      type: 'LicenseGranted',
      data: { licenseId: 'h20-nvidia', authority: 'US-BIS', holder: 'NVIDIA', chips: ['nvidia-h20'], destinations: ['CN'], conditions: [{ type: 'revenue_share', percent: 15 }] },
      effectiveAt: '2025-08-08',
      source,
    });
    await post({
      type: 'AdvisoryIssued',
      data: { advisoryId: 'avoid-h20', authority: 'CN-MIIT', level: 'discouraged', chips: ['nvidia-h20'], destinations: ['CN'], title: 'Avoid H20' },
      effectiveAt: '2025-08-12',
      source,
    });
    await post({
      type: 'InvestigationOpened',
      data: { investigationId: 'samr', authority: 'CN-SAMR', kind: 'antitrust', subjects: { companies: ['NVIDIA'] }, title: 'Antitrust probe' },
      effectiveAt: '2024-12-09',
      source,
    });
    await app.settle();
  });

  const status = async (query: string, chip = 'nvidia-h20') => {
    const response = await app.call('viewer', 'GET', `/api/v1/chips/${chip}/status?${query}`);
    return { status: response.status, body: await readJson(response) };
  };

  it('answers with classification, both directions, investigations and the events it stands on', async () => {
    const { status: code, body } = await status('destination=CN&asOf=2025-09-01');
    expect(code).toBe(200);
    expect(body).toMatchObject({
      chip: 'nvidia-h20',
      destination: 'CN',
      asOf: '2025-09-01T23:59:59.999Z',
      classification: { tpp: 2368, performanceDensity: 2.91, band: 'none' },
      export: { status: 'licensed', since: '2025-08-08T00:00:00.000Z', conditions: [{ type: 'revenue_share', percent: 15 }] },
      import: { status: 'discouraged', since: '2025-08-12T00:00:00.000Z' },
      investigations: [{ investigationId: 'samr', kind: 'antitrust' }],
    });
    const basis = (body.export as { basis: Array<{ eventId: string; type: string; effectiveAt: string; source: { url: string } }> }).basis;
    expect(basis.map((b) => b.type)).toEqual(['ControlImposed', 'LicenseGranted']);
    expect(basis[0]).toMatchObject({ eventId: imposedId, effectiveAt: '2025-04-09T00:00:00.000Z', source: { url: 'https://www.sec.gov/x' } });
  });

  it('answers for any valid time and any knowledge time', async () => {
    expect((await status('destination=CN&asOf=2024-06-30')).body).toMatchObject({ export: { status: 'unrestricted', basis: [] }, import: { status: 'open' } });
    expect((await status('destination=CN&asOf=2025-04-09')).body).toMatchObject({ export: { status: 'license_required' } });
    expect((await status('destination=HK&asOf=2025-09-01')).body).toMatchObject({ export: { status: 'license_required' } });
    expect((await status('destination=US&asOf=2025-09-01')).body).toMatchObject({ export: { status: 'unrestricted' } });
    expect((await status(`destination=CN&asOf=2025-05-01&knownAt=${encodeURIComponent(beforeLetter)}`)).body).toMatchObject({
      export: { status: 'unrestricted' },
      knownAt: beforeLetter,
    });
    expect((await status('destination=CN&asOf=2023-11-16', 'nvidia-a800')).body).toMatchObject({ export: { status: 'unrestricted' } });
    expect((await status('destination=CN&asOf=2023-11-17', 'nvidia-a800')).body).toMatchObject({
      classification: { band: '3A090.a' },
      export: { status: 'license_required', licensePolicy: 'presumption_of_denial', since: '2023-11-17T00:00:00.000Z' },
    });
  });

  it('answers 404 for an unknown chip or one not yet known at knownAt, 400 naming a bad parameter', async () => {
    expect(await status('destination=CN', 'nvidia-b999')).toMatchObject({ status: 404, body: { code: 'chip_not_found' } });
    expect(await status('destination=CN&knownAt=2020-01-01')).toMatchObject({ status: 404, body: { code: 'chip_not_known_at' } });
    expect(await status('asOf=2025-01-01')).toMatchObject({ status: 400, body: { problems: [{ field: 'query.destination' }] } });
    expect(await status('destination=XX')).toMatchObject({ status: 400, body: { problems: [{ field: 'query.destination' }] } });
    expect(await status('destination=CN&asOf=yesterday')).toMatchObject({ status: 400, body: { problems: [{ field: 'query.asOf' }] } });
    expect(await status('destination=CN&color=red')).toMatchObject({ status: 400, body: { code: 'invalid_field' } });
    expect(await status('destination=CN', 'Not_A_Slug')).toMatchObject({ status: 400 });
  });

  it('retracting an event reverts the status from that moment, and the earlier knowledge stays answerable', async () => {
    const beforeRetraction = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const retracted = await post({ type: 'EventRetracted', data: { eventId: imposedId, reason: 'recorded against the wrong chip' }, source });
    expect(retracted.status).toBe(201);
    await app.settle();
    expect((await status('destination=HK&asOf=2025-09-01')).body).toMatchObject({ export: { status: 'unrestricted' } });
    expect((await status(`destination=HK&asOf=2025-09-01&knownAt=${encodeURIComponent(beforeRetraction)}`)).body).toMatchObject({
      export: { status: 'license_required' },
    });
    const detail = await readJson(await app.call('viewer', 'GET', `/api/v1/events/${imposedId}`));
    expect(detail).toMatchObject({ id: imposedId, retracted: { by: retracted.body.id }, retraction: { id: retracted.body.id }, hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    // Put it back for the remaining tests, as a new event.
    await post({ type: 'ControlImposed', data: { ...letter, measureId: 'us-h20-letter-2' }, effectiveAt: '2025-04-09', source });
    await app.settle();
  });

  it('POST /status/check answers up to 1,000 pairs at once, unknown chips as error entries', async () => {
    const response = await app.call('viewer', 'POST', '/api/v1/status/check', {
      asOf: '2025-09-01',
      items: [
        { chip: 'nvidia-h20', destination: 'CN' },
        { chip: 'nvidia-a800', destination: 'mo', asOf: '2023-01-01' },
        { chip: 'nvidia-x', destination: 'CN' },
      ],
    });
    expect(response.status).toBe(200);
    const { results } = (await readJson(response)) as { results: Array<Record<string, unknown>> };
    expect(results[0]).toMatchObject({ chip: 'nvidia-h20', export: { status: 'licensed' } });
    expect(results[1]).toMatchObject({ chip: 'nvidia-a800', destination: 'MO', export: { status: 'unrestricted' } });
    expect(results[2]).toMatchObject({ chip: 'nvidia-x', error: { code: 'chip_not_found' } });
    const tooMany = await app.call('viewer', 'POST', '/api/v1/status/check', { items: Array.from({ length: 1001 }, () => ({ chip: 'nvidia-h20', destination: 'CN' })) });
    expect(tooMany.status).toBe(400);
    const full = await app.call('viewer', 'POST', '/api/v1/status/check', { items: Array.from({ length: 1000 }, () => ({ chip: 'nvidia-h20', destination: 'CN' })) });
    expect(((await readJson(full)).results as unknown[]).length).toBe(1000);
  });

  it('GET /status.csv lists every chip for a destination, spreadsheet-safe', async () => {
    const response = await app.call('viewer', 'GET', '/api/v1/status.csv?destination=CN&asOf=2025-09-01');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/csv');
    const lines = (await response.text()).trim().split('\r\n');
    expect(lines[0]).toMatch(/^chip,vendor,model,destination,as_of,known_at,eccn_band,tpp,performance_density,export_status/);
    expect(lines.find((line) => line.startsWith('nvidia-h20,'))).toContain(',licensed,');
    expect(lines.find((line) => line.startsWith('nvidia-a800,'))).toContain(',license_required,');
  });

  it('GET /chips lists chips with their current status; GET /chips/{chip} the classification; timeline the history', async () => {
    const list = await readJson(await app.call('viewer', 'GET', '/api/v1/chips?destination=CN'));
    const items = list.items as Array<{ chip: string; classification: { band: string }; status: { export: { status: string } } }>;
    expect(items.map((item) => item.chip)).toEqual(['nvidia-a800', 'nvidia-h20']);
    expect(items[0]).toMatchObject({ classification: { band: '3A090.a' }, status: { export: { status: 'license_required' } } });
    const filtered = await readJson(await app.call('viewer', 'GET', '/api/v1/chips?band=none'));
    expect((filtered.items as unknown[]).length).toBe(1);
    expect((await app.call('viewer', 'GET', '/api/v1/chips?exportStatus=licensed')).status).toBe(400);
    const chip = await readJson(await app.call('viewer', 'GET', '/api/v1/chips/nvidia-a800'));
    expect(chip).toMatchObject({ chip: 'nvidia-a800', classification: { tpp: 4992, performanceDensity: 6.04, band: '3A090.a', reason: expect.stringMatching(/^a\.1/) } });
    expect((await app.call('viewer', 'GET', '/api/v1/chips/nvidia-b999')).status).toBe(404);
    const timeline = await readJson(await app.call('viewer', 'GET', '/api/v1/chips/nvidia-h20/timeline'));
    expect((timeline.events as Array<{ type: string }>).map((e) => e.type)).toEqual(
      expect.arrayContaining(['ChipRegistered', 'ControlImposed', 'LicenseGranted', 'AdvisoryIssued', 'InvestigationOpened']),
    );
    const cn = (timeline.destinations as Array<{ destination: string; export: Array<{ status: string; validFrom: string | null }>; import: Array<{ status: string }> }>).find(
      (d) => d.destination === 'CN',
    );
    expect(cn!.export.map((i) => [i.status, i.validFrom])).toEqual([
      ['unrestricted', null],
      ['license_required', '2025-04-09T00:00:00.000Z'],
      ['licensed', '2025-08-08T00:00:00.000Z'],
    ]);
    expect(cn!.import.map((i) => i.status)).toEqual(['open', 'discouraged']);
  });
});

describe('reading events', () => {
  it('lists with filters and cursor pagination, newest first', async () => {
    const all = await readJson(await app.call('viewer', 'GET', '/api/v1/events?limit=500'));
    const items = all.items as Array<{ position: number; type: string }>;
    expect(items.length).toBeGreaterThan(5);
    expect(items.map((i) => i.position)).toEqual([...items.map((i) => i.position)].sort((a, b) => b - a));
    const pages: number[] = [];
    let cursor: string | null = null;
    do {
      const page = await readJson(await app.call('viewer', 'GET', `/api/v1/events?limit=2${cursor ? `&cursor=${cursor}` : ''}`));
      pages.push(...(page.items as Array<{ position: number }>).map((i) => i.position));
      cursor = page.nextCursor as string | null;
    } while (cursor);
    expect(pages).toEqual(items.map((i) => i.position));
    const controls = await readJson(await app.call('viewer', 'GET', '/api/v1/events?type=ControlImposed,LicenseGranted&order=asc'));
    expect(new Set((controls.items as Array<{ type: string }>).map((i) => i.type))).toEqual(new Set(['ControlImposed', 'LicenseGranted']));
    const forA800 = await readJson(await app.call('viewer', 'GET', '/api/v1/events?chip=nvidia-a800'));
    expect((forA800.items as Array<{ type: string }>).map((i) => i.type).sort()).toEqual(['ChipRegistered', 'ControlImposed']);
    const byAuthority = await readJson(await app.call('viewer', 'GET', '/api/v1/events?authority=CN-MIIT'));
    expect((byAuthority.items as unknown[]).length).toBe(1);
    const inRange = await readJson(await app.call('viewer', 'GET', '/api/v1/events?effectiveFrom=2025-08-01&effectiveTo=2025-08-31'));
    expect((inRange.items as Array<{ type: string }>).map((i) => i.type).sort()).toEqual(['AdvisoryIssued', 'LicenseGranted']);
    const search = async (q: string) =>
      ((await readJson(await app.call('viewer', 'GET', `/api/v1/events?q=${encodeURIComponent(q)}`))).items as Array<{ type: string; chips: string[] }>).map((i) => `${i.type} ${i.chips}`);
    expect(await search('A800')).toEqual(['ChipRegistered nvidia-a800']);
    expect(await search('a800 chipregistered')).toEqual(['ChipRegistered nvidia-a800']);
    expect(await search('a800 controlimposed')).toEqual([]);
    expect((await readJson(await app.call('viewer', 'GET', '/api/v1/events?q=%25%25%25'))).items).toEqual([]);
    expect((await app.call('viewer', 'GET', `/api/v1/events?q=${'x'.repeat(201)}`)).status).toBe(400);
    expect((await app.call('viewer', 'GET', '/api/v1/events?cursor=garbage')).status).toBe(400);
    expect((await app.call('viewer', 'GET', '/api/v1/events?type=Nope')).status).toBe(400);
    expect((await app.call('viewer', 'GET', '/api/v1/events?limit=501')).status).toBe(400);
  });

  it('GET /events/{id} answers 404 for an unknown id and 400 for a malformed one', async () => {
    expect((await app.call('viewer', 'GET', `/api/v1/events/${randomUUID()}`)).status).toBe(404);
    expect((await app.call('viewer', 'GET', '/api/v1/events/123')).status).toBe(400);
  });

  it('GET /feed.atom serves the curated events as Atom, text escaped', async () => {
    await post({
      type: 'InvestigationOpened',
      data: { investigationId: 'xss', authority: 'CN-SAMR', kind: 'antitrust', subjects: { companies: ['<script>alert(1)</script> & Co'] }, title: '<b>Probe</b> & "quotes"' },
      effectiveAt: '2025-01-01',
      source,
    });
    await app.settle();
    const response = await app.call('viewer', 'GET', '/api/v1/feed.atom');
    expect(response.headers.get('content-type')).toContain('application/atom+xml');
    const xml = await response.text();
    expect(xml).toContain('<feed xmlns="http://www.w3.org/2005/Atom">');
    expect(xml).toContain('&lt;b&gt;Probe&lt;/b&gt; &amp; &quot;quotes&quot;');
    expect(xml).not.toContain('<b>Probe');
    expect(xml.match(/<entry>/g)!.length).toBeGreaterThan(5);
  });
});

describe('OpenAPI', () => {
  it('documents every route at /api/docs', async () => {
    const response = await fetch(`${app.baseUrl}/api/docs/openapi.json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as { paths: Record<string, Record<string, unknown>> };
    for (const path of ['/api/v1/chips', '/api/v1/chips/{chip}', '/api/v1/chips/{chip}/status', '/api/v1/chips/{chip}/timeline', '/api/v1/status/check', '/api/v1/status.csv', '/api/v1/events', '/api/v1/events/{id}', '/api/v1/feed.atom', '/api/v1/auth/login', '/api/v1/api-keys', '/api/v1/integrity', '/health']) {
      expect(Object.keys(document.paths)).toContain(path);
    }
    expect(document.paths['/api/v1/events']!.post).toMatchObject({ requestBody: { content: { 'application/json': { schema: { properties: { type: {}, data: {}, source: {} } } } } } });
    expect((await fetch(`${app.baseUrl}/api/docs`)).status).toBe(200);
  });
});

describe('tokens and lock-out', () => {
  it('a token expires; five wrong passwords lock the account for a while (429 with Retry-After)', async () => {
    const clock = new ManualClock(new Date());
    const own = await startTestApp({ clock });
    try {
      const token = String((await readJson(await own.call('anonymous', 'POST', '/api/v1/auth/login', TEST_ADMIN))).token);
      const withToken = () => fetch(`${own.baseUrl}/api/v1/chips`, { headers: { authorization: `Bearer ${token}` } });
      expect((await withToken()).status).toBe(200);
      clock.advance(own.config.tokenTtlSeconds * 1000 + 1);
      const expired = await withToken();
      expect(expired.status).toBe(401);
      expect(await readJson(expired)).toMatchObject({ code: 'token_expired' });
      const tampered = token.slice(0, -2) + (token.endsWith('A') ? 'BB' : 'AA');
      expect((await fetch(`${own.baseUrl}/api/v1/chips`, { headers: { authorization: `Bearer ${tampered}` } })).status).toBe(401);
      for (let i = 0; i < 5; i += 1) {
        expect((await own.call('anonymous', 'POST', '/api/v1/auth/login', { ...TEST_ADMIN, password: `wrong ${i}` })).status).toBe(401);
      }
      const locked = await own.call('anonymous', 'POST', '/api/v1/auth/login', TEST_ADMIN);
      expect(locked.status).toBe(429);
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
      clock.advance(16 * 60 * 1000);
      expect((await own.call('anonymous', 'POST', '/api/v1/auth/login', TEST_ADMIN)).status).toBe(200);
    } finally {
      await own.close();
    }
  });
});
