import { Job } from 'bullmq';
import { Webhook } from 'standardwebhooks';
import { DELIVERIES_QUEUE, alertsComponents, startAlertWorker } from '@chiptrail/alerts';
import { ManualClock } from '@chiptrail/runtime';
import {
  readJson,
  startFixtureServer,
  startSmtpCapture,
  startTestApp,
  type FixtureServer,
  type SmtpCapture,
  type TestApp,
  until,
} from '@chiptrail/testing';

/**
 * Alerts over real Redis (and BullMQ's PostgreSQL backend), real PostgreSQL, a real SMTP server and real HTTP
 * receivers: what fires, how it is signed, retried, disabled, recovered and digested. Time is a ManualClock.
 */
const source = { url: 'https://www.sec.gov/h20-8k', title: 'NVIDIA 8-K', publishedAt: '2025-04-15' };
const chip = (slug: string) => ({ type: 'ChipRegistered', data: { chip: slug, vendor: 'NVIDIA', model: slug, datacenter: true, specs: { denseTops: { fp16: 148 }, dieAreaMm2: 814 } }, effectiveAt: '2024-01-01', source });
const control = (measureId: string, chips: string[], destinations: string[], effectiveAt: string, requirement = 'license_required') => ({
  type: 'ControlImposed',
  data: { measureId, authority: 'US-BIS', direction: 'export', requirement, scope: { chips }, destinations, title: `Letter ${measureId}` },
  effectiveAt,
  source,
});

interface Harness {
  app: TestApp;
  clock: ManualClock;
  stopWorker: () => Promise<void>;
}

let smtp: SmtpCapture;
let receiver: FixtureServer;

beforeAll(async () => {
  smtp = await startSmtpCapture();
  receiver = await startFixtureServer();
});
afterAll(async () => {
  await smtp.close();
  await receiver.close();
});

/** A raw header of a received mail (mailparser folds List-* headers into a structure). */
function header(mail: { headerLines: ReadonlyArray<{ key: string; line: string }> }, name: string): string | undefined {
  const line = mail.headerLines.find((h) => h.key === name.toLowerCase())?.line;
  return line?.slice(line.indexOf(':') + 1).trim();
}

// Signatures carry the attempt time, and receivers reject stale ones: the manual clock starts at the real time.
async function harness(queue: 'redis' | 'postgres' = 'redis', start = new Date()): Promise<Harness> {
  const clock = new ManualClock(start);
  const app = await startTestApp({ queue, clock, env: { SMTP_URL: smtp.url, DELIVERY_LOCK_MS: '5000' } });
  const stopWorker = await startAlertWorker(app.runtime, { random: () => 0.5, webhookTimeoutMs: 1000 });
  return { app, clock, stopWorker };
}

async function close(h: Harness): Promise<void> {
  await h.stopWorker();
  await h.app.close();
}

async function post(app: TestApp, body: unknown) {
  const response = await app.call('curator', 'POST', '/api/v1/events', body);
  expect([200, 201]).toContain(response.status);
  return readJson(response);
}


function captured(route: string) {
  return receiver.requests.filter((request) => request.path === route);
}

async function subscribeWebhook(app: TestApp, route: string, extra: Record<string, unknown> = {}, role: 'viewer' | 'admin' = 'viewer') {
  receiver.route(route, (_req, res) => res.writeHead(204).end());
  const response = await app.call(role, 'POST', '/api/v1/subscriptions', { channel: 'webhook', url: `${receiver.url}${route}`, ...extra });
  expect(response.status).toBe(201);
  return readJson(response) as Promise<{ id: string; secret: string; status: string }>;
}

describe('webhooks', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness();
    await post(h.app, chip('nvidia-h20'));
    await h.app.settle();
  });
  afterAll(() => close(h));

  it('answers a webhook subscription with its id and a whsec_ secret, and refuses bad ones', async () => {
    const created = await subscribeWebhook(h.app, '/hook-shape');
    expect(created).toMatchObject({ id: expect.any(String), status: 'active', secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]+=*$/) });
    const listed = await readJson(await h.app.call('viewer', 'GET', `/api/v1/subscriptions/${created.id}`));
    expect(JSON.stringify(listed)).not.toContain(created.secret);
    for (const [body, field] of [
      [{ channel: 'webhook', url: 'http://example.com/hook' }, 'body.url'],
      [{ channel: 'webhook', url: 'https://10.0.0.1/hook' }, 'body.url'],
      [{ channel: 'webhook', url: `${receiver.url}/x`, filters: { destinations: ['China'] } }, 'body.filters.destinations.0'],
      [{ channel: 'webhook', url: `${receiver.url}/x`, mode: 'daily' }, 'body.digest'],
      [{ channel: 'webhook', url: `${receiver.url}/x`, mode: 'daily', digest: { time: '25:00', timezone: 'Mars/Olympus' } }, 'body.digest.time'],
      [{ channel: 'sms', to: '+1' }, 'body.channel'],
    ] as const) {
      const response = await h.app.call('viewer', 'POST', '/api/v1/subscriptions', body);
      expect(response.status).toBe(400);
      expect(((await readJson(response)).problems as Array<{ field: string }>)[0]!.field).toBe(field);
    }
  });

  it('delivers a status change signed per Standard Webhooks, verified by the standardwebhooks package', async () => {
    const sub = await subscribeWebhook(h.app, '/hook-cn', { filters: { destinations: ['CN'] } });
    await subscribeWebhook(h.app, '/hook-hk', { filters: { destinations: ['HK'] } });
    const imposed = await post(h.app, control('h20-letter', ['nvidia-h20'], ['CN'], '2025-04-09'));
    await h.app.settle();
    const [request] = await until(async () => (captured('/hook-cn').length ? captured('/hook-cn') : undefined));
    const body = request!.body.toString();
    const verified = new Webhook(sub.secret).verify(body, {
      'webhook-id': String(request!.headers['webhook-id']),
      'webhook-timestamp': String(request!.headers['webhook-timestamp']),
      'webhook-signature': String(request!.headers['webhook-signature']),
    }) as Record<string, unknown>;
    expect(request!.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(Number(request!.headers['webhook-timestamp'])).toBe(Math.floor(h.clock.now().getTime() / 1000));
    expect(verified).toMatchObject({
      type: 'chip.status.changed',
      data: {
        chip: 'nvidia-h20',
        destination: 'CN',
        now: { changed: true, before: { export: { status: 'unrestricted' } }, after: { export: { status: 'license_required' } } },
        basis: [{ eventId: imposed.id, source: { url: source.url } }],
        causes: [{ eventId: imposed.id, type: 'ControlImposed' }],
      },
    });
    expect(() => new Webhook(sub.secret).verify(body.replace('nvidia-h20', 'nvidia-h21'), request!.headers as Record<string, string>)).toThrow();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(captured('/hook-hk')).toHaveLength(0);
  });

  it('sends every recorded event to subscriptions that ask for events', async () => {
    await subscribeWebhook(h.app, '/hook-events', { filters: { include: ['events'], eventTypes: ['AdvisoryIssued'] } });
    await post(h.app, { type: 'AdvisoryIssued', data: { advisoryId: 'avoid', authority: 'CN-MIIT', level: 'discouraged', chips: ['nvidia-h20'], destinations: ['CN'], title: 'Avoid H20' }, effectiveAt: '2025-08-12', source });
    await h.app.settle();
    const [request] = await until(async () => (captured('/hook-events').length ? captured('/hook-events') : undefined));
    expect(JSON.parse(request!.body.toString())).toMatchObject({ type: 'policy.event.recorded', data: { type: 'AdvisoryIssued', authority: 'CN-MIIT', title: 'Avoid H20' } });
  });

  it('a rotated secret signs alongside the old one for 24 hours', async () => {
    const sub = await subscribeWebhook(h.app, '/hook-rotate', { filters: { destinations: ['MO'] } });
    const rotated = (await readJson(await h.app.call('viewer', 'POST', `/api/v1/subscriptions/${sub.id}/rotate-secret`))) as { secret: string; previousSecretValidUntil: string };
    expect(rotated.secret).not.toBe(sub.secret);
    expect(Date.parse(rotated.previousSecretValidUntil) - h.clock.now().getTime()).toBe(24 * 3600 * 1000);
    await post(h.app, control('mo-letter', ['nvidia-h20'], ['MO'], '2025-04-09'));
    await h.app.settle();
    const [request] = await until(async () => (captured('/hook-rotate').length ? captured('/hook-rotate') : undefined));
    const headers = request!.headers as Record<string, string>;
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(() => new Webhook(sub.secret).verify(request!.body.toString(), headers)).not.toThrow();
    expect(() => new Webhook(rotated.secret).verify(request!.body.toString(), headers)).not.toThrow();
  });
});

describe('retries, disabling and recovery', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness();
    await post(h.app, chip('nvidia-h20'));
    await h.app.settle();
  });
  afterAll(() => close(h));

  const queue = () => h.app.runtime.queues.queue(DELIVERIES_QUEUE);
  const deliveryFor = async (subscriptionId: string) =>
    (await h.app.runtime.db.query(`SELECT * FROM deliveries WHERE subscription_id = $1 ORDER BY created_at`, [subscriptionId])).rows;
  /** Runs the next attempt now instead of waiting for its delay. */
  const promote = async (deliveryId: string, attempt: number) => {
    const job = await until(async () => Job.fromId(queue(), `${deliveryId}-${attempt}`));
    await job.promote().catch(() => undefined);
  };

  it('follows the schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, then gives up', async () => {
    receiver.route('/failing', (_req, res) => res.writeHead(500).end('down'));
    const sub = await subscribeWebhook(h.app, '/failing', { filters: { destinations: ['CN'] } });
    receiver.route('/failing', (_req, res) => res.writeHead(500).end('down'));
    await post(h.app, control('cn-1', ['nvidia-h20'], ['CN'], '2025-04-09'));
    await h.app.settle();
    const delays: number[] = [];
    const [row] = await until(async () => {
      const rows = await deliveryFor(sub.id);
      return rows.length && rows[0].attempts === 1 ? rows : undefined;
    });
    for (let attempt = 1; attempt <= 8; attempt += 1) {
      const current = await until(async () => {
        const [r] = await deliveryFor(sub.id);
        return r.attempts === attempt ? r : undefined;
      });
      if (attempt === 8) {
        expect(current.status).toBe('dead');
        expect(current.next_attempt_at).toBeNull();
        break;
      }
      expect(current.status).toBe('retrying');
      delays.push(current.next_attempt_at.getTime() - h.clock.now().getTime());
      h.clock.advance(delays[delays.length - 1]!);
      await promote(row.id, attempt + 1);
    }
    expect(delays).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
    const log = await readJson(await h.app.call('viewer', 'GET', `/api/v1/deliveries?subscriptionId=${sub.id}`));
    const item = (log.items as Array<{ attemptLog: Array<{ statusCode: number; outcome: string; latencyMs: number }>; status: string; webhookId: string }>)[0]!;
    expect(item.status).toBe('dead');
    expect(item.attemptLog).toHaveLength(8);
    expect(item.attemptLog.every((a) => a.statusCode === 500 && a.outcome === 'failed' && a.latencyMs >= 0)).toBe(true);
    // Every attempt carried the same webhook-id.
    expect(new Set(captured('/failing').map((r) => r.headers['webhook-id']))).toEqual(new Set([item.webhookId]));

    // Recover re-sends everything failed since a time, once the endpoint is back.
    receiver.route('/failing', (_req, res) => res.writeHead(200).end());
    const recovered = await readJson(await h.app.call('viewer', 'POST', `/api/v1/subscriptions/${sub.id}/recover`, { since: '2026-01-01' }));
    expect(recovered).toEqual({ requeued: 1 });
    await until(async () => ((await deliveryFor(sub.id))[0].status === 'delivered' ? true : undefined));
  });

  it('waits at least 60 s after a 429 (longer with Retry-After) and after a timeout; 3xx is a failure', async () => {
    receiver.route('/limited', (_req, res) => res.writeHead(429, { 'retry-after': '120' }).end());
    receiver.route('/slow', (_req, res) => {
      const timer = setTimeout(() => res.end(), 3000);
      res.on('close', () => clearTimeout(timer));
    });
    receiver.route('/moved', (_req, res) => res.writeHead(301, { location: '/elsewhere' }).end());
    const limited = await subscribeWebhook(h.app, '/limited', { filters: { destinations: ['JP'] } });
    receiver.route('/limited', (_req, res) => res.writeHead(429, { 'retry-after': '120' }).end());
    const slow = await subscribeWebhook(h.app, '/slow', { filters: { destinations: ['JP'] } });
    receiver.route('/slow', (_req, res) => {
      const timer = setTimeout(() => res.end(), 3000);
      res.on('close', () => clearTimeout(timer));
    });
    const moved = await subscribeWebhook(h.app, '/moved', { filters: { destinations: ['JP'] } });
    receiver.route('/moved', (_req, res) => res.writeHead(301, { location: '/elsewhere' }).end());
    await post(h.app, control('jp-1', ['nvidia-h20'], ['JP'], '2025-04-09'));
    await h.app.settle();
    const settled = async (id: string) => until(async () => ((await deliveryFor(id))[0]?.attempts === 1 ? (await deliveryFor(id))[0] : undefined));
    const now = h.clock.now().getTime();
    expect((await settled(limited.id)).next_attempt_at.getTime() - now).toBe(120_000);
    expect((await settled(slow.id)).next_attempt_at.getTime() - now).toBe(60_000);
    const redirected = await settled(moved.id);
    expect(redirected).toMatchObject({ status: 'retrying', last_status_code: 301 });
    expect(receiver.requests.filter((r) => r.path === '/elsewhere')).toHaveLength(0);
  });

  it('disables an endpoint that answers 410 at once, and one failing for five days; the owner and admins are told', async () => {
    receiver.route('/gone', (_req, res) => res.writeHead(410).end());
    const gone = await subscribeWebhook(h.app, '/gone', { filters: { destinations: ['KR'] } }, 'admin');
    receiver.route('/gone', (_req, res) => res.writeHead(410).end());
    await post(h.app, control('kr-1', ['nvidia-h20'], ['KR'], '2025-04-09'));
    await h.app.settle();
    await until(async () => ((await readJson(await h.app.call('admin', 'GET', `/api/v1/subscriptions/${gone.id}`))).status === 'disabled' ? true : undefined));
    expect(await readJson(await h.app.call('admin', 'GET', `/api/v1/subscriptions/${gone.id}`))).toMatchObject({ disabledReason: 'the endpoint answered 410 Gone' });
    await h.app.settle();
    const notice = await smtp.waitFor((mail) => mail.subject?.startsWith('Alerts to') === true && mail.text?.includes('410') === true);
    expect(notice.to).toMatchObject({ text: expect.stringContaining('admin@chiptrail.test') });

    receiver.route('/down', (_req, res) => res.writeHead(503).end());
    const down = await subscribeWebhook(h.app, '/down', { filters: { destinations: ['TW'] } });
    receiver.route('/down', (_req, res) => res.writeHead(503).end());
    await post(h.app, control('tw-1', ['nvidia-h20'], ['TW'], '2025-04-09'));
    await h.app.settle();
    const [first] = await until(async () => ((await deliveryFor(down.id))[0]?.attempts === 1 ? deliveryFor(down.id) : undefined));
    const state = await readJson(await h.app.call('viewer', 'GET', `/api/v1/subscriptions/${down.id}`));
    expect(state).toMatchObject({ status: 'active', failingSince: h.clock.now().toISOString() });
    h.clock.advance(5 * 24 * 3600 * 1000);
    await promote(first.id, 2);
    await until(async () => ((await readJson(await h.app.call('viewer', 'GET', `/api/v1/subscriptions/${down.id}`))).status === 'disabled' ? true : undefined));
    await h.app.settle();
    await smtp.waitFor((mail) => mail.subject?.startsWith('Alerts to') === true && mail.text?.includes('without a single success') === true);

    // Resuming re-enables it; a success resets the clock.
    receiver.route('/down', (_req, res) => res.writeHead(200).end());
    expect(await readJson(await h.app.call('viewer', 'POST', `/api/v1/subscriptions/${down.id}/resume`))).toMatchObject({ status: 'active', failingSince: null });
    const retried = await readJson(await h.app.call('viewer', 'POST', `/api/v1/deliveries/${first.id}/retry`));
    expect(retried).toMatchObject({ status: 'retrying' });
    await until(async () => ((await deliveryFor(down.id))[0].status === 'delivered' ? true : undefined));
  });

  it('one failing endpoint never delays the others', async () => {
    // The stuck endpoint holds its request open until the healthy one has been served: if deliveries waited on
    // each other, the healthy delivery would never come.
    let healthyServed = false;
    await subscribeWebhook(h.app, '/stuck', { filters: { destinations: ['DE'] } });
    receiver.route('/stuck', (_req, res) => {
      const timer = setInterval(() => {
        if (!healthyServed) return;
        clearInterval(timer);
        res.writeHead(500).end();
      }, 20);
      res.on('close', () => clearInterval(timer));
    });
    await post(h.app, control('de-1', ['nvidia-h20'], ['DE'], '2025-04-09'));
    await h.app.settle();
    await until(async () => (captured('/stuck').length ? true : undefined));
    await subscribeWebhook(h.app, '/healthy-at', { filters: { destinations: ['AT'] } });
    receiver.route('/healthy-at', (_req, res) => {
      healthyServed = true;
      res.writeHead(204).end();
    });
    await post(h.app, control('at-1', ['nvidia-h20'], ['AT'], '2025-04-09'));
    await h.app.settle();
    await until(async () => (healthyServed ? true : undefined));
  });
});

describe('reminders and digests', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness();
    await post(h.app, chip('nvidia-h20'));
    await h.app.settle();
  });
  afterAll(() => close(h));

  it('a change dated in the future is announced now and reminded when it takes effect', async () => {
    await subscribeWebhook(h.app, '/future', { filters: { destinations: ['VN'] } });
    const effective = new Date(Date.UTC(h.clock.now().getUTCFullYear() + 1, 0, 1)).toISOString();
    await post(h.app, control('vn-1', ['nvidia-h20'], ['VN'], effective.slice(0, 10), 'prohibited'));
    await h.app.settle();
    const [announcement] = await until(async () => (captured('/future').length ? captured('/future') : undefined));
    expect(JSON.parse(announcement!.body.toString())).toMatchObject({
      type: 'chip.status.changed',
      data: { now: { changed: false }, upcoming: [{ effectiveAt: effective, status: { export: { status: 'prohibited' } } }] },
    });
    const reminder = (await h.app.runtime.db.query(`SELECT * FROM deliveries WHERE type = 'chip.status.effective'`)).rows[0];
    expect(reminder).toMatchObject({ status: 'scheduled', next_attempt_at: new Date(effective) });
    h.clock.set(new Date(Date.parse(effective) + 1000));
    const job = await until(async () => Job.fromId(h.app.runtime.queues.queue(DELIVERIES_QUEUE), `${reminder.id}-1`));
    await job.promote();
    const [, reminded] = await until(async () => (captured('/future').length > 1 ? captured('/future') : undefined));
    expect(JSON.parse(reminded!.body.toString())).toMatchObject({ type: 'chip.status.effective', data: { chip: 'nvidia-h20', destination: 'VN', status: { export: { status: 'prohibited' } } } });
  });

  it('a daily digest groups the day’s changes into one delivery', async () => {
    const sub = await subscribeWebhook(h.app, '/digest', { mode: 'daily', digest: { time: '18:00', timezone: 'Europe/Berlin' }, filters: { destinations: ['SG', 'TH'] } });
    await post(h.app, control('sg-1', ['nvidia-h20'], ['SG'], '2025-01-01'));
    await post(h.app, control('th-1', ['nvidia-h20'], ['TH'], '2025-01-01'));
    await post(h.app, control('sg-2', ['nvidia-h20'], ['SG'], '2025-06-01', 'prohibited'));
    await h.app.settle();
    expect((await h.app.runtime.db.query(`SELECT count(*)::int AS n FROM deliveries WHERE subscription_id = $1 AND status = 'digest'`, [sub.id])).rows[0].n).toBe(3);
    const schedulers = await h.app.runtime.queues.queue('digests').getJobSchedulers(0, -1);
    expect(schedulers.map((s) => (s as { key?: string }).key)).toContain(`digest:${sub.id}`);
    const composed = await alertsComponents(h.app.runtime).composer.compose(sub.id);
    expect(composed).toMatchObject({ alerts: 3 });
    const [request] = await until(async () => (captured('/digest').length ? captured('/digest') : undefined));
    const digest = JSON.parse(request!.body.toString());
    const berlinDate = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Berlin', year: 'numeric', month: '2-digit', day: '2-digit' }).format(h.clock.now());
    expect(digest).toMatchObject({ type: 'digest.daily', data: { total: 3, date: berlinDate, timezone: 'Europe/Berlin' } });
    expect(digest.data.statusChanges.map((g: { destination: string; changes: unknown[] }) => [g.destination, g.changes.length])).toEqual([
      ['SG', 2],
      ['TH', 1],
    ]);
    expect(await alertsComponents(h.app.runtime).composer.compose(sub.id)).toBeNull();
  });
});

describe('e-mail', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness();
    await post(h.app, chip('nvidia-h20'));
    await h.app.settle();
  });
  afterAll(() => close(h));

  const linkIn = (text: string, path: string) => new RegExp(`https?://\\S+${path}\\?token=[A-Za-z0-9._-]+`).exec(text)?.[0];

  it('double opt-in: pending until the POSTed confirmation of a signed link; opening the link confirms nothing', async () => {
    const created = await readJson(await h.app.call('viewer', 'POST', '/api/v1/subscriptions', { channel: 'email', address: 'Compliance@Example.com', filters: { destinations: ['CN'] } }));
    expect(created).toMatchObject({ status: 'pending', address: 'compliance@example.com' });
    const mail = await smtp.waitFor((m) => m.subject === 'Confirm your chiptrail alert subscription');
    expect(mail.text).toBeTruthy();
    expect(mail.html).toBeTruthy();
    expect(header(mail, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
    const confirm = linkIn(mail.text as string, '/api/v1/subscriptions/confirm')!;
    const page = await fetch(confirm);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<form method="post">');
    expect(await readJson(await h.app.call('viewer', 'GET', `/api/v1/subscriptions/${created.id}`))).toMatchObject({ status: 'pending' });

    // An alert while pending goes nowhere.
    await post(h.app, control('cn-pending', ['nvidia-h20'], ['CN'], '2024-06-01'));
    await h.app.settle();

    const token = new URL(confirm).searchParams.get('token')!;
    const confirmed = await fetch(confirm, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${encodeURIComponent(token)}` });
    expect(confirmed.status).toBe(200);
    expect(await readJson(await h.app.call('viewer', 'GET', `/api/v1/subscriptions/${created.id}`))).toMatchObject({ status: 'active' });

    h.clock.advance(8 * 24 * 3600 * 1000);
    const expired = await fetch(confirm, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({}) });
    expect(expired.status).toBe(400);
    expect(await readJson(expired)).toMatchObject({ code: 'link_expired' });
    const forged = await h.app.call('anonymous', 'POST', '/api/v1/subscriptions/confirm', { token: `${token.split('.')[0]}.AAAA` });
    expect(await readJson(forged)).toMatchObject({ code: 'invalid_link' });
  });

  it('alert mails: text and HTML, before → after with the basis and its sources, and one-click unsubscribe (a GET never unsubscribes)', async () => {
    const created = await readJson(await h.app.call('viewer', 'POST', '/api/v1/subscriptions', { channel: 'email', address: 'ops@example.com', filters: { destinations: ['HK'] } }));
    const confirmation = await smtp.waitFor((m) => m.subject === 'Confirm your chiptrail alert subscription' && (m.to as { text: string }).text === 'ops@example.com');
    const confirm = linkIn(confirmation.text as string, '/api/v1/subscriptions/confirm')!;
    await fetch(confirm, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${new URL(confirm).searchParams.get('token')}` });

    await post(h.app, control('hk-1', ['nvidia-h20'], ['HK'], '2025-04-09'));
    await h.app.settle();
    const mail = await smtp.waitFor((m) => m.subject?.startsWith('nvidia-h20 → HK') === true);
    expect(mail.text).toContain('export unrestricted; import open → export license required; import open');
    expect(mail.text).toContain(source.url);
    expect(mail.html).toContain(`href="${source.url}"`);
    expect(mail.html).toContain('Letter hk-1');
    const unsubscribe = /<(.+)>/.exec(String(header(mail, 'List-Unsubscribe')))![1]!;
    expect(header(mail, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');

    expect((await fetch(unsubscribe)).status).toBe(200);
    expect(await readJson(await h.app.call('viewer', 'GET', `/api/v1/subscriptions/${created.id}`))).toMatchObject({ status: 'active' });
    const oneClick = await fetch(unsubscribe, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
    expect(oneClick.status).toBe(200);
    expect(await readJson(await h.app.call('viewer', 'GET', `/api/v1/subscriptions/${created.id}`))).toMatchObject({ status: 'unsubscribed' });
  });

  it('admins hear of feeds turning unhealthy', async () => {
    await h.app.runtime.store.append('feed-test', 'any', [
      { type: 'FeedHealthChanged', data: { feedId: 'f', name: 'BIS feed', url: 'https://x.example/feed', healthy: false, consecutiveErrors: 3, lastError: 'HTTP 500' }, metadata: { actor: 'system:feeds' }, effectiveAt: h.clock.now() },
    ]);
    await h.app.settle();
    const mail = await smtp.waitFor((m) => m.subject === 'Feed failing: BIS feed');
    expect((mail.to as { text: string }).text).toBe('admin@chiptrail.test');
    expect(header(mail, 'List-Unsubscribe')).toMatch(/^<http.*unsubscribe\?token=/);
  });
});

describe('mail without SMTP', () => {
  it('writes .eml files under DATA_DIR/mail and lists them for admins', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(`${tmpdir()}/chiptrail-mail-`);
    const app = await startTestApp({ env: { DATA_DIR: dir } });
    const stop = await startAlertWorker(app.runtime, { random: () => 0.5 });
    try {
      await app.call('viewer', 'POST', '/api/v1/subscriptions', { channel: 'email', address: 'files@example.com' });
      const list = await until(async () => {
        const body = await readJson(await app.call('admin', 'GET', '/api/v1/admin/mail'));
        return (body.items as unknown[]).length ? body : undefined;
      });
      expect(list).toMatchObject({ mode: 'files', items: [{ name: expect.stringMatching(/\.eml$/) }] });
      const name = (list.items as Array<{ name: string }>)[0]!.name;
      const raw = await (await app.call('admin', 'GET', `/api/v1/admin/mail/${name}`)).text();
      expect(raw).toContain('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
      expect(raw).toContain('To: files@example.com');
      expect((await app.call('viewer', 'GET', '/api/v1/admin/mail')).status).toBe(403);
      expect((await app.call('admin', 'GET', '/api/v1/admin/mail/..%2F..%2Fetc%2Fpasswd')).status).toBe(404);
    } finally {
      await stop();
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('on BullMQ’s PostgreSQL backend', () => {
  it('delivers a signed webhook just the same', async () => {
    const h = await harness('postgres');
    try {
      await post(h.app, chip('nvidia-h20'));
      await h.app.settle();
      const sub = await subscribeWebhook(h.app, '/pg-hook', { filters: { destinations: ['CN'] } });
      await post(h.app, control('pg-cn', ['nvidia-h20'], ['CN'], '2025-04-09'));
      await h.app.settle();
      const [request] = await until(async () => (captured('/pg-hook').length ? captured('/pg-hook') : undefined));
      expect(new Webhook(sub.secret).verify(request!.body.toString(), request!.headers as Record<string, string>)).toMatchObject({ type: 'chip.status.changed' });
    } finally {
      await close(h);
    }
  });
});
