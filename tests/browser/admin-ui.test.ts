/// <reference lib="dom" />
// (page.evaluate callbacks run in the browser.)
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startAlertWorker } from '@chiptrail/alerts';
import { TEST_ADMIN, startFixtureServer, startTestApp, type FixtureServer, type TestApp } from '@chiptrail/testing';
import { buildAdminUi, horizontalOverflow, launchBrowser, screenshot, seriousAccessibilityViolations } from '../support/browser';

/**
 * The admin UI in Debian's Chromium against the real api, PostgreSQL, Redis and live projections: the curator's
 * daily flows, then every page at desktop and phone widths (screenshots in test-artifacts/admin/, axe-core, no
 * sideways scrolling).
 */
const fixture = (name: string) => readFileSync(path.resolve(__dirname, '../fixtures/feeds', name));
// Markup a feed double-escapes survives parsing as literal text: the UI must show it, not run it.
const HOSTILE_TEXT = 'H20 export license <img src=x onerror="window.__pwned=1">';
const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const hostileFeed = `<?xml version="1.0"?><rss version="2.0"><channel><title>Hostile</title>
<item><title>${escape(escape(escape(HOSTILE_TEXT)))} ${escape('<script>window.__pwned=2</script>')}</title><link>https://hostile.example.org/1</link>
<guid>hostile-1</guid><pubDate>Tue, 15 Apr 2025 10:00:00 GMT</pubDate>
<description>${escape('<a href="javascript:window.__pwned=3">Nvidia H20 to China requires a license</a><iframe src="https://hostile.example.org"></iframe>')}</description></item>
</channel></rss>`;
const HOSTILE_EVENT_TITLE = 'Rule <script>window.__pwned=4</script><img src=x onerror="window.__pwned=5"> & more';

let app: TestApp;
let server: FixtureServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let stopAlertWorker: () => Promise<void>;
const approved: { eventId?: string } = {};

const url = (route: string) => `${app.baseUrl}/admin${route}`;

async function settled(target: Page) {
  await target.getByRole('heading', { level: 1 }).first().waitFor();
  await target.waitForFunction(() => !document.querySelector('[role="status"][aria-live="polite"]'));
}

/** Reads until the projections caught up with what the page just did (they run on their own, as in production). */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function chipStatusToday(target: Page, chip: string, destination: string): Promise<string | null> {
  await target.goto(url(`/chips/${chip}`));
  await settled(target);
  const row = target.locator(`tr[data-destination="${destination}"] .badge`);
  return (await row.count()) ? row.first().innerText() : null;
}

beforeAll(async () => {
  buildAdminUi();
  server = await startFixtureServer();
  server.route('/news.atom', (_req, res) => res.writeHead(200, { 'content-type': 'application/atom+xml' }).end(fixture('export-news.atom')));
  server.route('/hostile.rss', (_req, res) => res.writeHead(200, { 'content-type': 'application/rss+xml' }).end(hostileFeed));
  app = await startTestApp({ queue: 'redis' });
  const source = { url: 'https://example.gov/chips', title: 'Chip registry', publishedAt: '2025-01-01' };
  for (const [chip, model, vendor] of [['nvidia-h20', 'H20 (HGX)', 'NVIDIA'], ['amd-mi308', 'Instinct MI308', 'AMD']]) {
    const response = await app.call('curator', 'POST', '/api/v1/events', { type: 'ChipRegistered', data: { chip, vendor, model, datacenter: true }, effectiveAt: '2025-01-01', source });
    expect(response.status).toBe(201);
  }
  await app.settle();
  for (const runner of app.runners) runner.start();
  stopAlertWorker = await startAlertWorker(app.runtime, { webhookTimeoutMs: 1000 });
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await stopAlertWorker?.();
  await Promise.all((app?.runners ?? []).map((runner) => runner.stop()));
  await app?.close();
  await server?.close();
});

describe('curator flows', () => {
  it('signs in with the admin account; a wrong password is explained', async () => {
    await page.goto(url('/'));
    await page.getByLabel('E-mail').fill(TEST_ADMIN.email);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').innerText()).resolves.toContain('invalid_credentials');
    await screenshot(page, 'sign-in-refused');
    await page.getByLabel('Password').fill(TEST_ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Queues' }).waitFor();
    expect(await nav.getByRole('link').allInnerTexts()).toEqual(['Inbox', 'Chips', 'Events', 'Feeds', 'Alerts', 'Integrity', 'Queues']);
  });

  it('a viewer signed in with an API key sees only what it may read, and no write buttons', async () => {
    const viewer = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await viewer.goto(url('/'));
    await viewer.getByLabel('API key', { exact: true }).fill(await app.credential('viewer'));
    await viewer.getByRole('button', { name: 'Use key' }).click();
    const nav = viewer.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Chips' }).waitFor();
    expect(await nav.getByRole('link').allInnerTexts()).toEqual(['Chips', 'Events', 'Alerts', 'Integrity']);
    await nav.getByRole('link', { name: 'Events' }).click();
    await settled(viewer);
    expect(await viewer.getByRole('link', { name: 'Record an event' }).count()).toBe(0);
    await viewer.getByRole('table', { name: 'Events' }).getByRole('link').first().click();
    await settled(viewer);
    await viewer.getByText('Hash').waitFor();
    expect(await viewer.getByRole('button', { name: /Retract/ }).count()).toBe(0);
    await viewer.close();
  });

  it('an admin adds a feed and polls it now; its health shows', async () => {
    await page.goto(url('/feeds'));
    await settled(page);
    const form = page.getByRole('form', { name: 'Add a feed' });
    await form.getByLabel('Name').fill('Export news');
    await form.getByLabel(/^URL/).fill(`${server.url}/news.atom`);
    await form.getByRole('button', { name: 'Add feed' }).click();
    await page.getByRole('status').filter({ hasText: 'Added Export news' }).waitFor();
    await page.getByRole('button', { name: 'Poll now: Export news' }).click();
    await page.getByRole('status').filter({ hasText: 'Polled Export news' }).waitFor();
    const row = page.getByRole('row').filter({ hasText: 'Export news' });
    await row.getByText('3 pending / 4').waitFor();
    expect(await row.innerText()).toContain('healthy');
    expect(await row.innerText()).toContain('200');
  });

  it('approves an inbox item from the keyboard and the chip page shows the status change', async () => {
    expect(await chipStatusToday(page, 'nvidia-h20', 'CN')).toBeNull();
    await page.goto(url('/inbox'));
    await settled(page);
    expect(await page.getByRole('table', { name: 'Items per feed' }).innerText()).toMatch(/Export news\s+3\s+0\s+0\s+1/);
    const items = page.getByRole('list', { name: 'Inbox items' }).getByRole('button');
    const titles = await items.allInnerTexts();
    const index = titles.findIndex((title) => title.includes('H20 exports to China now require a license'));
    expect(index).toBeGreaterThanOrEqual(0);
    await page.keyboard.press('Escape');
    for (let step = 0; step < index; step += 1) await page.keyboard.press('j');
    const detail = page.getByRole('article', { name: 'Selected item' });
    await detail.getByRole('heading', { name: /H20 exports to China/ }).waitFor();
    expect(await detail.locator('h2 mark').allInnerTexts()).toEqual(expect.arrayContaining(['H20']));
    expect(await detail.getByRole('link', { name: 'Source' }).getAttribute('href')).toBe('https://news.example.org/2025/04/15/h20-license');
    await page.keyboard.press('a');
    const notice = page.getByRole('status').filter({ hasText: 'Approved: event' });
    await notice.waitFor();
    approved.eventId = (await notice.innerText()).match(/event ([0-9a-f-]{36})/)?.[1];
    expect(approved.eventId).toBeDefined();

    expect(await eventually(() => chipStatusToday(page, 'nvidia-h20', 'CN'), (status) => status === 'licence required')).toBe('licence required');
    await page.getByRole('button', { name: /^CN export: license_required from 2025-04-09/ }).click();
    const picked = page.getByRole('region', { name: 'Selected period' });
    await picked.getByRole('link', { name: /ControlImposed/ }).click();
    await page.waitForURL(`**/admin/events/${approved.eventId}`);
    await settled(page);
    expect(await page.locator('code.hash').innerText()).toMatch(/^[0-9a-f]{64}$/);
  });

  it('edits a proposal before approving it, and rejects an item with a reason; the counts follow', async () => {
    await page.goto(url('/inbox'));
    await settled(page);
    await page.getByRole('list', { name: 'Inbox items' }).getByRole('button', { name: /MI308 exports to China/ }).click();
    await page.keyboard.press('e');
    const edited = page.getByLabel(/^Edited event/);
    const proposal = JSON.parse(await edited.inputValue()) as { data: Record<string, unknown>; effectiveAt: string };
    proposal.data.title = 'MI308 licence requirement (edited)';
    await edited.fill(JSON.stringify({ ...proposal, data: { ...proposal.data, destinations: ['CN', 'NOT-A-COUNTRY'] } }));
    await page.getByRole('button', { name: 'Approve edited event' }).click();
    await expect(page.getByRole('alert').innerText()).resolves.toContain('destinations');
    await edited.fill(JSON.stringify(proposal));
    await page.getByRole('button', { name: 'Approve edited event' }).click();
    const notice = await page.getByRole('status').filter({ hasText: 'Approved: event' }).innerText();
    const id = notice.match(/event ([0-9a-f-]{36})/)?.[1] as string;
    const event = await eventually(async () => app.call('viewer', 'GET', `/api/v1/events/${id}`).then((r) => r.json() as Promise<{ title?: string }>), (e) => !!e.title);
    expect(event.title).toBe('MI308 licence requirement (edited)');

    await page.getByRole('list', { name: 'Inbox items' }).getByRole('button', { name: /regulator advises/ }).click();
    await page.keyboard.press('r');
    await page.getByLabel('Reason').fill('An advisory to companies, not a rule');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Rejected: Chinese regulator advises' }).waitFor();
    const counts = () => page.getByRole('table', { name: 'Items per feed' }).innerText();
    expect(await eventually(counts, (text) => /Export news\s+0\s+2\s+1\s+1/.test(text), 5000)).toMatch(/Export news\s+0\s+2\s+1\s+1/);
    await page.getByRole('combobox', { name: 'Status' }).selectOption('rejected');
    await page.getByRole('list', { name: 'Inbox items' }).getByRole('button', { name: /regulator advises/ }).waitFor();
  });

  it('an admin edits and disables a feed', async () => {
    await page.goto(url('/feeds'));
    await settled(page);
    await page.getByRole('button', { name: 'Edit: Export news' }).click();
    const form = page.getByRole('form', { name: 'Edit feed' });
    await form.getByLabel('Poll interval (seconds)').fill('900');
    await form.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved Export news' }).waitFor();
    await page.getByRole('button', { name: 'Disable: Export news' }).click();
    await page.getByRole('button', { name: 'Enable: Export news' }).waitFor();
    expect(await page.getByRole('row').filter({ hasText: 'Export news' }).innerText()).toContain('disabled');
    const feeds = (await app.call('curator', 'GET', '/api/v1/feeds').then((r) => r.json())) as Array<{ name: string; enabled: boolean; pollIntervalSeconds: number }>;
    expect(feeds.find((f) => f.name === 'Export news')).toMatchObject({ enabled: false, pollIntervalSeconds: 900 });
  });

  it('the chips matrix answers for any valid time and any knowledge time', async () => {
    const cell = (chip: string, destination: string) => page.locator(`td[data-cell="${chip}|${destination}"]`);
    const matrix = async (fill: { asOf?: string; knownAt?: string }) => {
      await page.goto(url('/chips'));
      await settled(page);
      if (fill.asOf) await page.getByLabel('As of (valid time)').fill(fill.asOf);
      if (fill.knownAt) await page.getByLabel('Known at').fill(fill.knownAt);
      await page.locator(`table[data-answered-for="${fill.asOf ?? ''}|${fill.knownAt ?? ''}"]`).waitFor();
      return cell('amd-mi308', 'CN').innerText();
    };
    expect(await eventually(() => matrix({}), (text) => text === 'licence required')).toBe('licence required');
    expect(await cell('amd-mi308', 'DE').innerText()).toBe('unrestricted');
    expect(await matrix({ asOf: '2025-03-01' })).toBe('unrestricted');
    // Everything here was recorded today: the day before, the chip itself was not yet known.
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    expect(await matrix({ knownAt: yesterday })).toBe('unknown then');
  });

  it('shows failed deliveries and disabled endpoints; resume, retry and recover from the page', async () => {
    server.route('/hook', (_req, res) => res.writeHead(410).end());
    const created = await app.call('admin', 'POST', '/api/v1/subscriptions', { channel: 'webhook', url: `${server.url}/hook`, filters: { destinations: ['KR'] } });
    expect(created.status).toBe(201);
    const source = { url: 'https://example.gov/kr', title: 'KR rule', publishedAt: '2025-04-09' };
    const control = { measureId: 'ui-kr', authority: 'US-BIS', direction: 'export', requirement: 'license_required', scope: { chips: ['nvidia-h20'] }, destinations: ['KR'], title: 'KR licence requirement' };
    expect((await app.call('curator', 'POST', '/api/v1/events', { type: 'ControlImposed', data: control, effectiveAt: '2025-04-09', source })).status).toBe(201);
    const failed = async () => {
      await page.goto(url('/alerts'));
      await settled(page);
      return page.getByRole('table', { name: 'Failed deliveries' }).count();
    };
    expect(await eventually(failed, (count) => count === 1)).toBe(1);
    const hook = `${server.url}/hook`;
    expect(await page.getByRole('table', { name: 'Failed deliveries' }).innerText()).toContain('410');
    expect(await page.getByRole('list', { name: 'Disabled endpoints' }).innerText()).toContain('410 Gone');

    server.route('/hook', (_req, res) => res.writeHead(204).end());
    await page.getByRole('list', { name: 'Disabled endpoints' }).getByRole('button', { name: `Resume: ${hook}` }).click();
    await page.getByRole('status').filter({ hasText: 'Resumed' }).waitFor();
    await page.getByRole('button', { name: `Retry: ${hook}` }).click();
    await page.getByRole('status').filter({ hasText: 'Retrying now' }).waitFor();
    expect(await eventually(failed, (count) => count === 0)).toBe(0);
    expect(server.requests.filter((r) => r.path === '/hook').length).toBe(2);

    await page.getByLabel('Recover failed deliveries since').fill('2025-01-01');
    await page.getByRole('button', { name: `Recover since: ${hook}` }).click();
    await page.getByRole('status').filter({ hasText: 'Re-sending 0 failed deliveries since 2025-01-01' }).waitFor();
  });

  it('a manual event with a bad field shows the error at the field; fixed, it is recorded; the API refusal shows its problem', async () => {
    await page.goto(url('/events/new'));
    await settled(page);
    await page.getByRole('combobox', { name: 'Type', exact: true }).selectOption('ControlImposed');
    await page.getByLabel('Data (JSON)').fill(
      JSON.stringify({ measureId: 'ui-mi308', authority: 'US-BIS', direction: 'export', requirement: 'license_required', scope: { chips: ['amd-mi308'] }, destinations: ['CN'], title: 'MI308 licence requirement' }),
    );
    await page.getByLabel(/^Effective at/).fill('2025-04-16');
    await page.getByLabel('URL', { exact: true }).fill('ir.amd.com/news');
    await page.getByLabel('Title', { exact: true }).fill('AMD 8-K');
    await page.getByLabel('Published at').fill('2025-04-16');
    await page.getByRole('button', { name: 'Record' }).click();
    const problems = page.getByRole('alert');
    await expect(problems.innerText()).resolves.toContain('source.url');
    expect(await page.getByLabel('URL', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    const recordedBefore = (await app.call('viewer', 'GET', '/api/v1/events?q=ui-mi308').then((r) => r.json())) as { items: unknown[] };
    expect(recordedBefore.items).toEqual([]);

    await page.getByLabel('URL', { exact: true }).fill('https://ir.amd.com/news-events/press-releases/detail/1234');
    await page.getByRole('button', { name: 'Record' }).click();
    const created = page.getByRole('status').filter({ hasText: 'Recorded at position' });
    await created.waitFor();
    expect(await page.getByLabel('URL', { exact: true }).getAttribute('aria-invalid')).toBe('false');
    expect(await eventually(() => chipStatusToday(page, 'amd-mi308', 'CN'), (status) => status === 'licence required')).toBe('licence required');

    await page.goto(url('/events/new'));
    await settled(page);
    await page.getByRole('combobox', { name: 'Type', exact: true }).selectOption('LicenseRevoked');
    await page.getByLabel('Data (JSON)').fill(JSON.stringify({ licenseId: 'never-granted', reason: 'test' }));
    await page.getByLabel(/^Effective at/).fill('2025-05-01');
    await page.getByLabel('URL', { exact: true }).fill('https://example.gov/revocation');
    await page.getByLabel('Title', { exact: true }).fill('Revocation');
    await page.getByLabel('Published at').fill('2025-05-01');
    await page.getByRole('button', { name: 'Record' }).click();
    const refusal = await page.getByRole('alert').innerText();
    expect(refusal).toMatch(/never-granted/);
    expect(refusal).toMatch(/\((404|409|422)\)/);
  });

  it('retracting an event reverts the chip status', async () => {
    await page.goto(url(`/events/${approved.eventId}`));
    await settled(page);
    await page.getByRole('button', { name: 'Retract this event' }).click();
    await page.getByLabel('Why is it retracted?').fill('Duplicate of the BIS notice, recorded by mistake');
    await page.getByRole('button', { name: 'Retract', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Retracted by event' }).waitFor();
    expect(await eventually(() => chipStatusToday(page, 'nvidia-h20', 'CN'), (status) => status !== 'licence required')).not.toBe('licence required');
    await page.goto(url(`/events/${approved.eventId}`));
    await page.getByRole('note').filter({ hasText: 'Duplicate of the BIS notice' }).waitFor();
  });

  it('runs an integrity check and shows the chain head', async () => {
    await page.goto(url('/integrity'));
    await settled(page);
    await page.getByRole('button', { name: 'Run verification' }).click();
    await page.getByRole('heading', { name: 'The log verifies' }).waitFor();
    const report = await page.locator('main').innerText();
    expect(report).toMatch(/[0-9a-f]{64}/);
    const verify = (await app.call('viewer', 'GET', '/api/v1/integrity').then((r) => r.json())) as { eventsVerified: number };
    expect(report).toContain(String(verify.eventsVerified));
  });

  it('renders feed and event text as text: markup never becomes HTML', async () => {
    const response = await app.call('admin', 'POST', '/api/v1/feeds', { url: `${server.url}/hostile.rss`, name: 'Hostile', pollIntervalSeconds: 3600 });
    const feed = (await response.json()) as { id: string };
    expect((await app.call('curator', 'POST', `/api/v1/feeds/${feed.id}/poll`)).status).toBe(200);
    await page.goto(url('/inbox'));
    await settled(page);
    await page.getByRole('list', { name: 'Inbox items' }).getByRole('button', { name: /onerror/ }).click();
    const detail = page.getByRole('article', { name: 'Selected item' });
    await expect(detail.getByRole('heading', { level: 2 }).innerText()).resolves.toBe(HOSTILE_TEXT);
    expect(await detail.innerText()).toContain('Nvidia H20 to China requires a license');
    expect(await detail.locator('img, script, iframe, a[href^="javascript:"]').count()).toBe(0);

    const recorded = await app.call('curator', 'POST', '/api/v1/events', {
      type: 'AdvisoryIssued',
      data: { advisoryId: 'hostile-advisory', authority: 'CN-CAC', level: 'discouraged', chips: ['nvidia-h20'], destinations: ['CN'], title: HOSTILE_EVENT_TITLE },
      effectiveAt: '2025-08-12',
      source: { url: 'https://hostile.example.org/2', title: HOSTILE_EVENT_TITLE, publishedAt: '2025-08-12' },
    });
    expect(recorded.status).toBe(201);
    const { id } = (await recorded.json()) as { id: string };
    await eventually(async () => (await app.call('viewer', 'GET', `/api/v1/events/${id}`)).status, (status) => status === 200);
    await page.goto(url('/events'));
    await settled(page);
    await page.getByRole('searchbox', { name: 'Search' }).fill('hostile-advisory cn-cac');
    const rows = page.getByRole('table', { name: 'Events' }).locator('tbody tr');
    expect(await eventually(() => rows.count(), (count) => count === 1)).toBe(1);
    await page.getByRole('link', { name: `AdvisoryIssued: ${HOSTILE_EVENT_TITLE}` }).click();
    await page.getByRole('heading', { level: 1, name: `AdvisoryIssued: ${HOSTILE_EVENT_TITLE}` }).waitFor();
    expect(await page.getByRole('link', { name: HOSTILE_EVENT_TITLE }).getAttribute('href')).toBe('https://hostile.example.org/2');
    expect(await page.locator('main img, main script, main iframe').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  });

  it("the chip chart also shows import status, each change opening its basis", async () => {
    const discouraged = page.getByRole('button', { name: /^CN import: discouraged from 2025-08-12/ });
    const bands = async () => {
      await chipStatusToday(page, 'nvidia-h20', 'CN');
      await page.getByRole('combobox', { name: 'Direction' }).selectOption('import');
      return discouraged.count();
    };
    expect(await eventually(bands, (count) => count === 1)).toBe(1);
    await discouraged.click();
    await page.getByRole('region', { name: 'Selected period' }).getByRole('link', { name: /^AdvisoryIssued: Rule/ }).waitFor();
  });

  it('opens Bull Board under /admin/queues for an admin', async () => {
    await page.goto(url('/jobs'));
    await settled(page);
    await page.getByRole('button', { name: 'Open the queue dashboard' }).click();
    await page.waitForURL('**/admin/queues/**');
    await page.getByText('feeds', { exact: false }).first().waitFor();
    expect(await page.title()).toMatch(/Bull/i);
  });
});

describe('every page', () => {
  const pages = () => [
    ['inbox', '/inbox'],
    ['chips', '/chips'],
    ['chip', '/chips/nvidia-h20'],
    ['events', '/events'],
    ['event', `/events/${approved.eventId}`],
    ['new-event', '/events/new'],
    ['feeds', '/feeds'],
    ['alerts', '/alerts'],
    ['integrity', '/integrity'],
    ['queues', '/jobs'],
  ];

  for (const width of [1280, 390]) {
    it(`at ${width} px: a screenshot, no serious accessibility violation, nothing wider than the screen`, async () => {
      const target = await context.newPage();
      await target.setViewportSize({ width, height: 900 });
      await target.goto(url('/'));
      await target.getByRole('heading', { name: 'Sign in' }).waitFor();
      await target.evaluate((token) => sessionStorage.setItem('chiptrail.token', token), await app.credential('admin'));
      const findings: Record<string, unknown> = {};
      for (const [name, route] of pages()) {
        await target.goto(url(route as string));
        await settled(target);
        await screenshot(target, `${name}-${width}`);
        const violations = await seriousAccessibilityViolations(target);
        const overflow = await horizontalOverflow(target);
        if (violations.length || overflow > 0) findings[name as string] = { overflow, violations };
      }
      const signIn = await browser.newPage({ viewport: { width, height: 900 } });
      await signIn.goto(url('/'));
      await signIn.getByRole('heading', { name: 'Sign in' }).waitFor();
      await screenshot(signIn, `sign-in-${width}`);
      const violations = await seriousAccessibilityViolations(signIn);
      const overflow = await horizontalOverflow(signIn);
      if (violations.length || overflow > 0) findings['sign-in'] = { overflow, violations };
      await signIn.close();
      await target.close();
      expect(findings).toEqual({});
    });
  }
});
