import { randomUUID } from 'node:crypto';
import { ndjsonLines } from '@chiptrail/policy';
import { readJson, startTestApp, type TestApp } from '@chiptrail/testing';

/** POST /api/v1/events/import: many events by the rules of POST /events, streamed, with clear refusals. */
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app?.close());

const source = { url: 'https://example.gov/rule', title: 'Rule', publishedAt: '2025-01-01' };
const ndjson = (lines: readonly unknown[]) => lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n');
const post = (role: 'admin' | 'curator', body: string, type = 'application/x-ndjson') => app.call(role, 'POST', '/api/v1/events/import', body, { 'content-type': type });
const count = async () => Number((await app.runtime.db.query<{ n: string }>(`SELECT count(*) AS n FROM events`)).rows[0]!.n);

function chipAndControl(slug: string) {
  return [
    { id: randomUUID(), type: 'ChipRegistered', data: { chip: slug, vendor: 'NVIDIA', model: slug, datacenter: true }, effectiveAt: '2024-01-01', source },
    { id: randomUUID(), type: 'ControlImposed', data: { measureId: `m-${slug}`, authority: 'US-BIS', direction: 'export', requirement: 'license_required', scope: { chips: [slug] }, destinations: ['CN'], title: 'Rule' }, effectiveAt: '2025-04-09', source },
  ];
}

describe('POST /api/v1/events/import', () => {
  it('records every line through the decider; the same body again records nothing new', async () => {
    const body = ndjson(chipAndControl('import-a'));
    const first = await post('admin', `${body}\r\n\n`);
    expect(first.status).toBe(200);
    expect(await readJson(first)).toMatchObject({ imported: 2, alreadyRecorded: 0, lines: 3 });
    await app.settle();
    const status = await readJson(await app.call('viewer', 'GET', '/api/v1/chips/import-a/status?destination=CN&asOf=2025-05-01'));
    expect(status).toMatchObject({ export: { status: 'license_required' } });
    expect(await readJson(await post('admin', body))).toMatchObject({ imported: 0, alreadyRecorded: 2 });
  });

  it('names the bad line and records nothing of its batch', async () => {
    const before = await count();
    const lines = [...chipAndControl('import-b'), '{"type": "ControlImposed", "data": {"measureId": "x"}, "source": {}}'];
    const invalid = await post('admin', ndjson(lines));
    expect(invalid.status).toBe(400);
    expect(await readJson(invalid)).toMatchObject({ code: 'import_line_invalid', problems: [{ field: 'line.3' }] });
    const notJson = await post('admin', ndjson([...chipAndControl('import-c'), '{not json']));
    expect(await readJson(notJson)).toMatchObject({ code: 'import_line_invalid', detail: expect.stringMatching(/^Line 3: not JSON/) });
    const refused = await post('admin', ndjson([chipAndControl('import-d')[1]]));
    expect(refused.status).toBe(400);
    expect(await readJson(refused)).toMatchObject({ code: 'unknown_chip', detail: expect.stringMatching(/^Line 1: /) });
    for (const [index, title] of ['NUL \u0000 here', 'half \ud800 a pair'].entries()) {
      const [chip, control] = chipAndControl(`import-e${index}`);
      const unstorable = await post('admin', ndjson([chip, { ...control, data: { ...control?.data, title } }]));
      expect(unstorable.status).toBe(400);
      expect(await readJson(unstorable)).toMatchObject({ code: 'import_line_invalid', problems: [{ field: 'line.2' }], detail: expect.stringMatching(/^Line 2: data\.title: text may not contain the NUL/) });
    }
    expect(await count()).toBe(before);
  });

  it('is for admins, and only for NDJSON', async () => {
    expect((await post('curator', ndjson(chipAndControl('import-e')))).status).toBe(403);
    const json = await post('admin', JSON.stringify(chipAndControl('import-f')[0]), 'application/json');
    expect(json.status).toBe(400);
    expect(await readJson(json)).toMatchObject({ code: 'ndjson_required' });
  });

  it('reads lines without holding more than one, refusing an overlong line and an oversized body', async () => {
    async function* chunks(...parts: string[]) {
      for (const part of parts) yield Buffer.from(part);
    }
    const lines: string[] = [];
    for await (const line of ndjsonLines(chunks('{"a":', '1}\n{"b"', ':2}\r\n', '{"c":3}'))) lines.push(line);
    expect(lines).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
    await expect((async () => {
      for await (const _ of ndjsonLines(chunks('{"a": "', 'x'.repeat(100), '"}\n'), 64)) void _;
    })()).rejects.toMatchObject({ code: 'invalid_field', problems: [{ field: 'line.1' }] });
    await expect((async () => {
      for await (const _ of ndjsonLines(chunks('{}\n', '{}\n', '{}\n'), 64, 5)) void _;
    })()).rejects.toThrow(/over 5 bytes/);
  });
});
