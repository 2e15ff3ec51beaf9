import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { startFeedWorker, FeedScheduler } from '@chiptrail/feeds';
import { readJson, startFixtureServer, startTestApp, type FixtureServer, type TestApp } from '@chiptrail/testing';

/**
 * Feeds end to end on real PostgreSQL: served from fixtures by a real HTTP server on 127.0.0.1, fetched, parsed,
 * deduped into the inbox, approved into events that change a chip's status; and every hostile feed ends as a
 * recorded error or a skipped item.
 */
const fixture = (name: string) => readFileSync(path.resolve(__dirname, '../fixtures/feeds', name));
let app: TestApp;
let server: FixtureServer;
const source = { url: 'https://example.gov/chips', title: 'Chip registry', publishedAt: '2025-01-01' };

beforeAll(async () => {
  server = await startFixtureServer();
  app = await startTestApp({ queue: 'redis', env: { FEED_TIMEOUT_MS: '1500', FEED_FAILURE_THRESHOLD: '3' } });
  for (const [chip, model, vendor] of [['nvidia-h20', 'H20 (HGX)', 'NVIDIA'], ['amd-mi308', 'Instinct MI308', 'AMD']]) {
    const response = await app.call('curator', 'POST', '/api/v1/events', { type: 'ChipRegistered', data: { chip, vendor, model, datacenter: true }, effectiveAt: '2025-01-01', source });
    expect(response.status).toBe(201);
  }
  await app.settle();
});
afterAll(async () => {
  await app?.close();
  await server?.close();
});

async function createFeed(route: string, extra: Record<string, unknown> = {}) {
  const response = await app.call('admin', 'POST', '/api/v1/feeds', { url: `${server.url}${route}`, name: `feed ${route}`, pollIntervalSeconds: 600, ...extra });
  expect(response.status).toBe(201);
  return (await readJson(response)) as { id: string } & Record<string, unknown>;
}

async function poll(id: string) {
  const response = await app.call('curator', 'POST', `/api/v1/feeds/${id}/poll`);
  expect(response.status).toBe(200);
  return readJson(response);
}

async function feed(id: string) {
  return readJson(await app.call('curator', 'GET', `/api/v1/feeds/${id}`)) as Promise<Record<string, unknown> & { recentFetches: Array<Record<string, unknown>> }>;
}

describe('managing feeds', () => {
  it('admins add, change and retire feeds; each active feed has exactly one job scheduler', async () => {
    const scheduler = new FeedScheduler(app.runtime.queues);
    const created = await createFeed('/managed', { defaultAuthority: 'US-BIS' });
    expect(created).toMatchObject({ kind: 'auto', enabled: true, healthy: true, pollIntervalSeconds: 600, defaultAuthority: 'US-BIS', consecutiveErrors: 0, lastFetchedAt: null });
    expect(await scheduler.schedulerIds()).toContain(`feed:${created.id}`);
    const patched = await readJson(await app.call('admin', 'PATCH', `/api/v1/feeds/${created.id}`, { enabled: false, name: 'renamed' }));
    expect(patched).toMatchObject({ enabled: false, name: 'renamed' });
    expect(await scheduler.schedulerIds()).not.toContain(`feed:${created.id}`);
    await app.call('admin', 'PATCH', `/api/v1/feeds/${created.id}`, { enabled: true, pollIntervalSeconds: 300 });
    expect(await scheduler.schedulerIds()).toContain(`feed:${created.id}`);
    expect((await app.call('admin', 'DELETE', `/api/v1/feeds/${created.id}`)).status).toBe(204);
    expect((await app.call('curator', 'GET', `/api/v1/feeds/${created.id}`)).status).toBe(404);
    expect(await scheduler.schedulerIds()).not.toContain(`feed:${created.id}`);
  });

  it('refuses bad feeds with 400 naming the field, and curators may not manage feeds', async () => {
    expect((await app.call('curator', 'POST', '/api/v1/feeds', { url: `${server.url}/x`, name: 'x' })).status).toBe(403);
    const cases: Array<[unknown, string]> = [
      [{ url: 'ftp://example.org/feed', name: 'x' }, 'body.url'],
      [{ url: `${server.url}/x`, name: '' }, 'body.name'],
      [{ url: `${server.url}/x`, name: 'x', pollIntervalSeconds: 0 }, 'body.pollIntervalSeconds'],
      [{ url: `${server.url}/x`, name: 'x', defaultAuthority: 'bis' }, 'body.defaultAuthority'],
      [{ url: 'http://169.254.169.254/latest/meta-data', name: 'metadata' }, 'body.url'],
    ];
    for (const [body, field] of cases) {
      const response = await app.call('admin', 'POST', '/api/v1/feeds', body);
      expect(response.status).toBe(400);
      expect(((await readJson(response)).problems as Array<{ field: string }>)[0]!.field).toBe(field);
    }
  });
});

describe('fetch, dedupe, inbox, approve', () => {
  let feedId: string;
  let etagHits = 0;

  beforeAll(async () => {
    server.route('/news.atom', (req, res) => {
      if (req.headers['if-none-match'] === '"atom-v1"') {
        etagHits += 1;
        res.writeHead(304).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/atom+xml', etag: '"atom-v1"' }).end(fixture('export-news.atom'));
    });
    feedId = (await createFeed('/news.atom')).id;
  });

  it('polls now: new items with proposals in the inbox, irrelevant ones kept but hidden', async () => {
    expect(await poll(feedId)).toMatchObject({ outcome: 'ok', httpStatus: 200, itemsNew: 4, itemsUpdated: 0, itemsSkipped: 0 });
    const inbox = await readJson(await app.call('curator', 'GET', `/api/v1/inbox?feedId=${feedId}`));
    const items = inbox.items as Array<Record<string, unknown>>;
    expect(items.map((item) => item.title).sort()).toEqual([
      'AMD says MI308 exports to China need a license',
      'Chinese regulator advises companies to avoid H20 purchases',
      'US informs Nvidia that H20 exports to China now require a license',
    ]);
    for (const item of items) {
      expect(item).toMatchObject({ feedId, status: 'pending', link: expect.stringMatching(/^https:\/\/news\.example\.org\//) });
      expect(item.proposed).toMatchObject({ type: expect.any(String), data: expect.any(Object), source: { url: item.link } });
      expect(item.confidence).toBeGreaterThan(0.5);
      expect((item.evidence as unknown[]).length).toBeGreaterThan(2);
    }
    const hidden = await readJson(await app.call('curator', 'GET', `/api/v1/inbox?feedId=${feedId}&status=irrelevant`));
    expect((hidden.items as Array<{ title: string }>).map((item) => item.title)).toEqual(['Quarterly earnings roundup']);
    expect(await feed(feedId)).toMatchObject({ lastStatus: '200', consecutiveErrors: 0, items: { total: 4, pending: 3, irrelevant: 1 } });
  });

  it('sends the stored validators: an unchanged feed answers 304 and nothing is written', async () => {
    expect(await poll(feedId)).toMatchObject({ outcome: 'not_modified', httpStatus: 304, itemsNew: 0 });
    expect(etagHits).toBe(1);
    expect(await feed(feedId)).toMatchObject({ lastStatus: '304', items: { total: 4 } });
  });

  it('marks an item whose content changed as updated, not new', async () => {
    const changed = fixture('export-news.atom').toString().replace('AMD disclosed a new U.S. license requirement', 'AMD disclosed an updated U.S. license requirement');
    server.route('/news.atom', (_req, res) => res.writeHead(200, { etag: '"atom-v2"' }).end(changed));
    expect(await poll(feedId)).toMatchObject({ outcome: 'ok', itemsNew: 0, itemsUpdated: 1 });
    const inbox = await readJson(await app.call('curator', 'GET', `/api/v1/inbox?feedId=${feedId}&q=MI308`));
    expect(inbox.items).toMatchObject([{ updated: true, summary: expect.stringContaining('updated U.S. license') }]);
  });

  it('approving appends the proposed event with the item as source and the curator as actor, once, and the status changes', async () => {
    const inbox = await readJson(await app.call('curator', 'GET', `/api/v1/inbox?feedId=${feedId}&q=H20%20exports`));
    const item = (inbox.items as Array<{ id: string; link: string; title: string }>)[0]!;
    const before = await readJson(await app.call('viewer', 'GET', '/api/v1/chips/nvidia-h20/status?destination=CN&asOf=2025-05-01'));
    expect(before).toMatchObject({ export: { status: 'unrestricted' } });

    const [first, second] = await Promise.all([
      app.call('curator', 'POST', `/api/v1/inbox/${item.id}/approve`),
      app.call('curator', 'POST', `/api/v1/inbox/${item.id}/approve`),
    ]);
    const approvals = [await readJson(first), await readJson(second)] as Array<{ event: { id: string }; item: { status: string } }>;
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(approvals[0]!.event.id).toBe(approvals[1]!.event.id);
    const again = (await readJson(await app.call('curator', 'POST', `/api/v1/inbox/${item.id}/approve`))) as { event: { id: string; duplicate: boolean } };
    expect(again.event).toMatchObject({ id: approvals[0]!.event.id, duplicate: true });
    const stored = await app.runtime.db.query(`SELECT metadata FROM events WHERE event_id = $1`, [approvals[0]!.event.id]);
    expect(stored.rowCount).toBe(1);
    expect(stored.rows[0].metadata).toMatchObject({
      actor: expect.stringMatching(/^api-key:/),
      causationId: `feed-item:${item.id}`,
      source: { url: item.link, title: item.title, feedItemId: item.id },
    });

    await app.settle();
    const after = await readJson(await app.call('viewer', 'GET', '/api/v1/chips/nvidia-h20/status?destination=CN&asOf=2025-05-01'));
    expect(after).toMatchObject({ export: { status: 'license_required', since: '2025-04-09T00:00:00.000Z', basis: [{ eventId: approvals[0]!.event.id, source: { url: item.link } }] } });
    expect(await readJson(await app.call('curator', 'GET', `/api/v1/inbox/${item.id}`))).toMatchObject({ status: 'approved', approvedEventId: approvals[0]!.event.id });
  });

  it('approves an edited event; rejects with a reason; refuses to approve a rejected item or reject an approved one', async () => {
    const inbox = await readJson(await app.call('curator', 'GET', `/api/v1/inbox?feedId=${feedId}`));
    const items = inbox.items as Array<{ id: string; title: string; proposed: { type: string; data: Record<string, unknown>; effectiveAt: string } }>;
    const advisory = items.find((item) => item.title.startsWith('Chinese regulator'))!;
    const mi308 = items.find((item) => item.title.startsWith('AMD'))!;
    const edited = { ...advisory.proposed, data: { ...advisory.proposed.data, level: 'prohibited', authority: 'CN-CAC' } };
    const approved = (await readJson(await app.call('curator', 'POST', `/api/v1/inbox/${advisory.id}/approve`, edited))) as { event: { id: string; type: string } };
    expect(approved.event.type).toBe('AdvisoryIssued');
    const stored = await app.runtime.db.query(`SELECT data FROM events WHERE event_id = $1`, [approved.event.id]);
    expect(stored.rows[0].data).toMatchObject({ level: 'prohibited', authority: 'CN-CAC' });

    expect((await app.call('curator', 'POST', `/api/v1/inbox/${mi308.id}/reject`, {})).status).toBe(400);
    const rejected = await readJson(await app.call('curator', 'POST', `/api/v1/inbox/${mi308.id}/reject`, { reason: 'already recorded from the 8-K' }));
    expect(rejected).toMatchObject({ status: 'rejected', rejectedReason: 'already recorded from the 8-K', reviewedBy: expect.stringMatching(/^api-key:/) });
    const approveRejected = await app.call('curator', 'POST', `/api/v1/inbox/${mi308.id}/approve`);
    expect(approveRejected.status).toBe(409);
    expect(await readJson(approveRejected)).toMatchObject({ code: 'item_rejected' });
    const rejectApproved = await app.call('curator', 'POST', `/api/v1/inbox/${advisory.id}/reject`, { reason: 'changed my mind' });
    expect(rejectApproved.status).toBe(409);
    const invalidEdit = await app.call('curator', 'POST', `/api/v1/inbox/${mi308.id}/approve`, { type: 'ControlImposed', data: {} });
    expect(invalidEdit.status).toBe(409);
    const counts = (await readJson(await app.call('curator', 'GET', '/api/v1/inbox/counts'))) as unknown as Array<Record<string, unknown>>;
    expect(counts.find((c) => c.feedId === feedId)).toMatchObject({ pending: 0, approved: 2, rejected: 1, irrelevant: 1 });
  });

  it('a bad edited event is refused with the field named, and the item stays pending', async () => {
    server.route('/one.atom', (_req, res) =>
      res.end(`<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>x</id><updated>2025-01-01T00:00:00Z</updated>
        <entry><title>US bans H20 exports to Russia</title><id>urn:x:1</id><link href="https://news.example.org/ban"/><updated>2025-06-01T00:00:00Z</updated></entry></feed>`),
    );
    const id = (await createFeed('/one.atom')).id;
    await poll(id);
    const item = ((await readJson(await app.call('curator', 'GET', `/api/v1/inbox?feedId=${id}`))).items as Array<{ id: string; proposed: Record<string, unknown> }>)[0]!;
    const bad = await app.call('curator', 'POST', `/api/v1/inbox/${item.id}/approve`, { ...item.proposed, data: { ...(item.proposed.data as object), destinations: ['Russia'] } });
    expect(bad.status).toBe(400);
    expect(((await readJson(bad)).problems as Array<{ field: string }>)[0]!.field).toBe('data.destinations.0');
    expect(await readJson(await app.call('curator', 'GET', `/api/v1/inbox/${item.id}`))).toMatchObject({ status: 'pending' });
  });
});

describe('hostile feeds end as recorded errors or skipped items', () => {
  const cases: Array<[string, (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void, string]> = [
    ['invalid XML', (_req, res) => res.end('<?xml version="1.0"?><rss><channel><title>broken</rss>'), 'invalid_xml|not_a_feed'],
    ['HTML served as a feed', (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><html><body>Hello</body></html>'), 'not_a_feed'],
    ['an empty 200', (_req, res) => res.end(), 'empty_body'],
    ['a 50 MiB body', (_req, res) => {
      res.writeHead(200);
      let sent = 0;
      const chunk = Buffer.alloc(1024 * 1024, 'x');
      const pump = () => {
        while (sent < 50 && res.write(chunk)) sent += 1;
        if (sent < 50) res.once('drain', pump);
        else res.end();
      };
      res.on('error', () => undefined);
      pump();
    }, 'too_large'],
    ['a body that never ends', (_req, res) => {
      res.writeHead(200);
      const timer = setInterval(() => res.write('<item>'), 50);
      res.on('close', () => clearInterval(timer));
    }, 'timeout'],
    ['a slow server past the timeout', (_req, res) => {
      const timer = setTimeout(() => res.end('<rss/>'), 5000);
      res.on('close', () => clearTimeout(timer));
    }, 'timeout'],
    ['a redirect loop', (_req, res) => res.writeHead(302, { location: '/hostile/redirect-loop' }).end(), 'too_many_redirects'],
    ['a redirect to a private address', (_req, res) => res.writeHead(302, { location: 'http://10.0.0.1/feed' }).end(), 'blocked_address'],
    ['an entity-expansion document', (_req, res) =>
      res.end('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><rss><channel><title>&b;</title></channel></rss>'), 'entity_declarations'],
    ['a wrong declared charset', (_req, res) => res.end(Buffer.concat([Buffer.from('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>'), Buffer.from([0xb3, 0xf6, 0xbf, 0xda]), Buffer.from('</title></channel></rss>')])), 'bad_charset'],
    ['a 500', (_req, res) => res.writeHead(500).end('oops'), 'http_500'],
  ];

  it.each(cases)('%s', async (label, handler, code) => {
    const route = `/hostile/${label.replace(/\W+/g, '-')}`;
    server.route(route, handler);
    if (label === 'a redirect loop') server.route('/hostile/redirect-loop', handler);
    const id = (await createFeed(route)).id;
    const started = Date.now();
    const outcome = await poll(id);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(outcome).toMatchObject({ outcome: 'error', errorCode: expect.stringMatching(new RegExp(`^(${code})$`)) });
    const state = await feed(id);
    expect(state).toMatchObject({ consecutiveErrors: 1, lastError: expect.any(String), items: { total: 0 } });
    expect(state.recentFetches[0]).toMatchObject({ outcome: 'error', errorCode: outcome.errorCode });
    // Backoff: twice the interval after one error.
    expect(Date.parse(String(state.nextPollAt)) - Date.parse(String(state.lastFetchedAt))).toBe(2 * 600 * 1000);
  });

  it('duplicate GUIDs within one feed and items with no GUID, link or date: kept once, or skipped', async () => {
    server.route('/hostile/dupes', (_req, res) =>
      res.end(`<rss version="2.0"><channel><title>t</title>
        <item><title>US bans H20 exports</title><guid>same</guid></item>
        <item><title>US bans H20 exports (again)</title><guid>same</guid></item>
        <item><title>Licence required for H20, no guid but a link</title><link>https://news.example.org/a</link></item>
        <item><title>Licence required for MI308, only a title and a date</title><pubDate>Mon, 01 Sep 2025 00:00:00 GMT</pubDate></item>
        <item><description>no title, no guid, no link, no date</description></item>
        <item></item>
      </channel></rss>`),
    );
    const id = (await createFeed('/hostile/dupes')).id;
    expect(await poll(id)).toMatchObject({ outcome: 'ok', itemsNew: 3, itemsSkipped: 3 });
    expect(await poll(id)).toMatchObject({ outcome: 'ok', itemsNew: 0, itemsUpdated: 0 });
  });

  it('honours Retry-After on a 429 and keeps backing off, doubling up to a day, never stopping', async () => {
    server.route('/hostile/429', (_req, res) => res.writeHead(429, { 'retry-after': '7200' }).end());
    const id = (await createFeed('/hostile/429', { pollIntervalSeconds: 60 })).id;
    expect(await poll(id)).toMatchObject({ outcome: 'error', errorCode: 'http_429', httpStatus: 429 });
    const state = await feed(id);
    expect(Date.parse(String(state.nextPollAt)) - Date.parse(String(state.lastFetchedAt))).toBe(7200 * 1000);
    server.route('/hostile/429', (_req, res) => res.writeHead(503).end());
    const waits: number[] = [];
    for (let i = 0; i < 12; i += 1) {
      await poll(id);
      const s = await feed(id);
      waits.push(Date.parse(String(s.nextPollAt)) - Date.parse(String(s.lastFetchedAt)));
    }
    expect(waits.slice(0, 3)).toEqual([60_000 * 4, 60_000 * 8, 60_000 * 16]);
    expect(waits[waits.length - 1]).toBe(24 * 3600 * 1000);
    expect((await feed(id)).consecutiveErrors).toBe(13);
  });

  it('a feed turning unhealthy, and healthy again, is recorded as an event for the alerts', async () => {
    server.route('/hostile/flaky', (_req, res) => res.writeHead(500).end());
    const id = (await createFeed('/hostile/flaky')).id;
    for (let i = 0; i < 3; i += 1) await poll(id);
    expect(await feed(id)).toMatchObject({ healthy: false, consecutiveErrors: 3 });
    server.route('/hostile/flaky', (_req, res) => res.end(fixture('federal-register-bis.rss')));
    expect(await poll(id)).toMatchObject({ outcome: 'ok' });
    expect(await feed(id)).toMatchObject({ healthy: true, consecutiveErrors: 0 });
    const events = await app.runtime.store.readStream(`feed-${id}`);
    expect(events.map((e) => [e.type, e.data.healthy])).toEqual([
      ['FeedHealthChanged', false],
      ['FeedHealthChanged', true],
    ]);
    expect(events[0]!.data).toMatchObject({ feedId: id, consecutiveErrors: 3, lastError: expect.stringContaining('500') });
  });

  it('a feed configured as one kind that serves another is an error', async () => {
    server.route('/kind.json', (_req, res) => res.end(fixture('export-news.atom')));
    const id = (await createFeed('/kind.json', { kind: 'federal_register' })).id;
    expect(await poll(id)).toMatchObject({ outcome: 'error', errorCode: 'unexpected_kind', error: 'The feed is configured as federal_register but the server sent atom.' });
  });

  it('waits for the feed <ttl> when it is longer than the interval', async () => {
    server.route('/ttl.rss', (_req, res) => res.end('<rss version="2.0"><channel><title>t</title><ttl>90</ttl></channel></rss>'));
    const id = (await createFeed('/ttl.rss', { pollIntervalSeconds: 60 })).id;
    await poll(id);
    const state = await feed(id);
    expect(Date.parse(String(state.nextPollAt)) - Date.parse(String(state.lastFetchedAt))).toBe(90 * 60 * 1000);
  });
});

describe.each(['postgres', 'redis'] as const)('polling on schedule (BullMQ on %s)', (queue) => {
  it('a job scheduler per feed polls it through the worker', async () => {
    const own = await startTestApp({ queue, env: { FEED_TIMEOUT_MS: '1500' } });
    const stop = await startFeedWorker(own.runtime);
    try {
      server.route(`/scheduled-${queue}.rss`, (_req, res) => res.end(fixture('federal-register-bis.rss')));
      const created = await own.call('admin', 'POST', '/api/v1/feeds', { url: `${server.url}/scheduled-${queue}.rss`, name: 'scheduled', pollIntervalSeconds: 1 });
      const { id } = (await readJson(created)) as { id: string };
      const deadline = Date.now() + 20_000;
      let state: Record<string, unknown> = {};
      while (Date.now() < deadline) {
        state = await readJson(await own.call('curator', 'GET', `/api/v1/feeds/${id}`));
        if (state.lastFetchedAt) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(state).toMatchObject({ lastStatus: '200', items: { total: 4 } });
    } finally {
      await stop();
      await own.close();
    }
  });
});
