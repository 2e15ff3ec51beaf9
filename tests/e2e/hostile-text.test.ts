import Parser from 'rss-parser';
import { renderMail } from '@chiptrail/alerts';
import { readJson, startTestApp, type TestApp } from '@chiptrail/testing';

/**
 * Text is data, never code: SQL, HTML, script and spreadsheet-formula payloads and Unicode edge cases go into every
 * free-text field, are stored exactly, and come back inert in every rendering (JSON, Atom, CSV, e-mail HTML).
 */
const SCRIPT = '<script>alert("x")</script>';
const IMG = '<img src=x onerror=alert(1)>';
const SQL = "'; DROP TABLE events; --";
const FORMULA = '=HYPERLINK("http://evil.example","click")';
const UNICODE = 'Ω≈ç √ 💥🇨🇳 👩‍👩‍👧 e\u0301 \u202eRTL\u202c ｔｅｓｔ \u200b ǅ';
const source = { url: 'https://example.gov/rule?a=1&b=<2>', title: `${IMG} ${UNICODE}`, publishedAt: '2025-01-01' };

describe('hostile text is stored exactly and rendered inert', () => {
  let app: TestApp;
  let controlId: string;

  beforeAll(async () => {
    app = await startTestApp();
    const chip = await app.call('curator', 'POST', '/api/v1/events', {
      type: 'ChipRegistered',
      data: { chip: 'hostile-chip', vendor: FORMULA, model: `${SCRIPT} ${SQL}`, datacenter: true },
      effectiveAt: '2024-01-01',
      source,
    });
    expect(chip.status).toBe(201);
    const control = await app.call('curator', 'POST', '/api/v1/events', {
      type: 'ControlImposed',
      data: { measureId: 'hostile-m1', authority: 'US-BIS', direction: 'export', requirement: 'license_required', scope: { chips: ['hostile-chip'] }, destinations: ['CN'], title: `${IMG} ${UNICODE} ${SQL}` },
      effectiveAt: '2025-04-09',
      source,
    });
    expect(control.status).toBe(201);
    controlId = String((await readJson(control)).id);
    await app.settle();
  }, 120_000);

  afterAll(() => app?.close());

  it('JSON gives every string back exactly, and the log is intact', async () => {
    const event = await readJson(await app.call('viewer', 'GET', `/api/v1/events/${controlId}`));
    expect((event.data as { title: string }).title).toBe(`${IMG} ${UNICODE} ${SQL}`);
    const chip = await readJson(await app.call('viewer', 'GET', '/api/v1/chips/hostile-chip'));
    expect(chip).toMatchObject({ vendor: FORMULA, model: `${SCRIPT} ${SQL}` });
    const status = await readJson(await app.call('viewer', 'GET', '/api/v1/chips/hostile-chip/status?destination=CN'));
    expect(JSON.stringify(status)).toContain(JSON.stringify(`${IMG} ${UNICODE} ${SQL}`).slice(1, -1));
    const { rows } = await app.runtime.db.query<{ n: string }>(`SELECT count(*) AS n FROM events`);
    expect(Number(rows[0]!.n)).toBe(2);
    const search = await readJson(await app.call('viewer', 'GET', `/api/v1/events?q=${encodeURIComponent(SQL)}`));
    expect((search.items as unknown[]).length).toBeGreaterThanOrEqual(1);
  });

  it('deeply nested JSON and oversized bodies are refused with problem documents, storing nothing', async () => {
    const deep = `{"type":"ControlImposed","data":${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)},"effectiveAt":"2025-01-01","source":{"url":"https://example.gov","title":"t","publishedAt":"2025-01-01"}}`;
    const nested = await app.call('curator', 'POST', '/api/v1/events', deep);
    expect(nested.status).toBe(400);
    expect(await readJson(nested)).toMatchObject({ status: 400, code: expect.any(String), detail: expect.any(String) });
    const big = await app.call('curator', 'POST', '/api/v1/events', { type: 'ControlImposed', data: { title: 'x'.repeat(2 * 1024 * 1024) }, effectiveAt: '2025-01-01', source });
    expect(big.status).toBe(413);
    expect(await readJson(big)).toMatchObject({ code: 'body_too_large' });
    const { rows } = await app.runtime.db.query<{ n: string }>(`SELECT count(*) AS n FROM events`);
    expect(Number(rows[0]!.n)).toBe(2);
  });

  it('the Atom feed escapes markup and stays well-formed', async () => {
    const response = await app.call('viewer', 'GET', '/api/v1/feed.atom');
    expect(response.status).toBe(200);
    const xml = await response.text();
    expect(xml).not.toContain(IMG);
    expect(xml).not.toContain(SCRIPT);
    expect(xml).toContain('&lt;img src=x onerror=alert(1)&gt;');
    const feed = await new Parser().parseString(xml);
    expect(feed.items.some((item) => item.title?.includes(`${IMG} ${UNICODE}`))).toBe(true);
  });

  it('the CSV export quotes cells and defuses spreadsheet formulas', async () => {
    const response = await app.call('viewer', 'GET', '/api/v1/status.csv?destination=CN');
    expect(response.status).toBe(200);
    const csv = await response.text();
    const line = csv.split('\n').find((row) => row.startsWith('hostile-chip'))!;
    expect(line).toBeDefined();
    expect(line).toContain(`"'${FORMULA.replace(/"/g, '""')}"`);
    expect(line).not.toMatch(/(^|,)=/);
    expect(line).toContain(`"${`${SCRIPT} ${SQL}`.replace(/"/g, '""')}"`);
  });

  it('alert e-mails escape event text in their HTML', () => {
    const mail = renderMail(
      {
        type: 'policy.event.recorded',
        timestamp: '2025-04-09T00:00:00.000Z',
        data: { eventId: controlId, type: 'ControlImposed', authority: 'US-BIS', title: `${IMG} ${SCRIPT}`, effectiveAt: '2025-04-09T00:00:00.000Z', recordedAt: '2025-04-09T00:00:00.000Z', data: {}, source },
      } as never,
      { app: 'https://chiptrail.example/admin', unsubscribe: 'https://chiptrail.example/u?token=t' },
    );
    expect(mail.html).not.toContain(IMG);
    expect(mail.html).not.toContain(SCRIPT);
    expect(mail.html).toContain('&lt;script&gt;');
    expect(mail.text).toContain(SCRIPT);
  });
});
