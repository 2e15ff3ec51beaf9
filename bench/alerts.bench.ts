import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { createScratchDatabase } from '@chiptrail/db';
import { signWebhook } from '@chiptrail/alerts';
import { latencyFigure, percentile, startApi, startWorker, throughput, throughputFigure, until, type BenchContext, type Figure } from './bench.support';

interface Receiver {
  readonly url: string;
  /** When the first webhook citing an event arrived, by event id. */
  readonly arrivals: Map<string, bigint>;
  /** Webhooks received per event id. */
  readonly counts: Map<string, number>;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const arrivals = new Map<string, bigint>();
  const counts = new Map<string, number>();
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const now = process.hrtime.bigint();
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { type: string; data?: { causes?: Array<{ eventId: string }> } };
        const id = body.data?.causes?.[0]?.eventId ?? (request.headers['x-bench-id'] as string | undefined);
        if (id) {
          if (!arrivals.has(id)) arrivals.set(id, now);
          counts.set(id, (counts.get(id) ?? 0) + 1);
        }
      } catch {
        // not one of ours
      }
      response.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    arrivals,
    counts,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * 6. Alert latency: an event appended over the API until its status-change webhook reaches a local receiver
 *    (projection, dispatcher, queue, signed delivery), p50 and p99; and fan-out of one status change to many
 *    webhook subscriptions, deliveries/s, against raw signed POSTs from one process to the same receiver.
 */
export async function alertFigures(context: BenchContext): Promise<Figure[]> {
  const events = context.quick ? 100 : 1000;
  const subscribers = context.quick ? 1000 : 10_000;
  const database = await createScratchDatabase(context.config.adminDatabaseUrl, 'bench_alerts');
  const env = { OUTBOUND_ALLOWLIST: '127.0.0.1/32', PROJECTION_POLL_MS: '1000' };
  const receiver = await startReceiver();
  const api = await startApi(context, database, env);
  const worker = startWorker(context, database, env);
  const call = (method: string, path: string, body?: unknown, type = 'application/json') =>
    fetch(`${api.url}/api/v1${path}`, { method, headers: { authorization: `Bearer ${api.token}`, 'content-type': type }, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const source = { url: 'https://example.gov/rule', title: 'Rule', publishedAt: '2025-01-01' };
  try {
    const chips = [...Array.from({ length: events }, (_, i) => `lat-chip-${i}`), 'fan-chip'];
    const registered = await call('POST', '/events/import', chips.map((chip) => JSON.stringify({ type: 'ChipRegistered', data: { chip, vendor: 'NVIDIA', model: chip, datacenter: true }, effectiveAt: '2024-01-01', source })).join('\n'), 'application/x-ndjson');
    if (registered.status !== 200) throw new Error(`registering chips: ${registered.status} ${await registered.text()}`);
    const subscribed = await call('POST', '/subscriptions', { channel: 'webhook', url: `${receiver.url}/latency`, filters: { destinations: ['CN'] } });
    if (subscribed.status !== 201) throw new Error(`subscribing: ${subscribed.status} ${await subscribed.text()}`);
    // Let the worker read the registrations before the clock starts.
    await new Promise((resolve) => setTimeout(resolve, 3000));

    context.log(`alerts: latency over ${events} events`);
    const latencies: number[] = [];
    for (let i = 0; i < events; i += 1) {
      const started = process.hrtime.bigint();
      const response = await call('POST', '/events', {
        type: 'ControlImposed',
        data: { measureId: `lat-${i}`, authority: 'US-BIS', direction: 'export', requirement: 'license_required', scope: { chips: [`lat-chip-${i}`] }, destinations: ['CN'], title: `Rule ${i}` },
        effectiveAt: '2025-04-09',
        source,
      });
      const { id } = (await response.json()) as { id: string };
      if (!(await until(() => receiver.arrivals.has(id), 15_000))) throw new Error(`no webhook for event ${i} within 15 s`);
      latencies.push(Number((receiver.arrivals.get(id) as bigint) - started) / 1e6);
    }
    const figures: Figure[] = [
      latencyFigure(`alert latency p50 (event appended → webhook received), ${events} events`, percentile(latencies, 50), null, null, null),
      latencyFigure(`alert latency p99 (event appended → webhook received), ${events} events`, percentile(latencies, 99), null, null, 500),
    ];

    context.log(`alerts: fan-out to ${subscribers} subscriptions`);
    for (let created = 0; created < subscribers; created += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, subscribers - created) }, async () => {
          const response = await call('POST', '/subscriptions', { channel: 'webhook', url: `${receiver.url}/fan`, filters: { chips: ['fan-chip'] } });
          if (response.status !== 201) throw new Error(`subscribing: ${response.status} ${await response.text()}`);
        }),
      );
    }
    const started = process.hrtime.bigint();
    const fan = await call('POST', '/events', {
      type: 'ControlImposed',
      data: { measureId: 'fan', authority: 'US-BIS', direction: 'export', requirement: 'prohibited', scope: { chips: ['fan-chip'] }, destinations: ['CN'], title: 'Fan-out' },
      effectiveAt: '2025-04-09',
      source,
    });
    const { id: fanId } = (await fan.json()) as { id: string };
    if (!(await until(() => (receiver.counts.get(fanId) ?? 0) >= subscribers, 600_000))) throw new Error(`fan-out incomplete: ${receiver.counts.get(fanId) ?? 0}/${subscribers}`);
    const ours = subscribers / (Number(process.hrtime.bigint() - started) / 1e9);

    // The baseline: the same number of signed POSTs from one process, 50 at a time, to the same receiver.
    const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    const body = JSON.stringify({ type: 'chip.status.changed', timestamp: new Date().toISOString(), data: { chip: 'fan-chip', destination: 'CN' } });
    const raw = await throughput(50, Math.ceil(subscribers / 50), async () => {
      const id = `msg_${randomUUID()}`;
      const timestamp = Math.floor(Date.now() / 1000);
      const response = await fetch(`${receiver.url}/raw`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook([secret], id, timestamp, body) },
        body,
      });
      await response.arrayBuffer();
    });
    figures.push(throughputFigure(`fan-out of one status change to ${subscribers.toLocaleString('en-US')} webhook subscriptions`, ours, 'deliveries/s', 'raw signed POSTs', raw, null));
    return figures;
  } finally {
    await worker.stop();
    await api.child.stop();
    await receiver.close();
    await database.drop();
  }
}
