import http from 'node:http';
import Parser from 'rss-parser';
import { createScratchDatabase, Database } from '@chiptrail/db';
import { plainFigure, startApi, throughputFigure, type BenchContext, type Figure } from './bench.support';

function rss(feed: number, items: number): string {
  const entries = Array.from({ length: items }, (_, item) => {
    const title = item % 3 === 0 ? `Quarterly results of company ${item}` : `US requires a license to export the H20 to China (notice ${feed}-${item})`;
    return `<item><title>${title}</title><link>https://news.example.org/${feed}/${item}</link><guid>feed-${feed}-item-${item}</guid>` +
      `<pubDate>Tue, 15 Apr 2025 10:00:00 GMT</pubDate><description>The Commerce Department informed Nvidia that a license is required to export the H20 to China, Hong Kong and Macau. Item ${item} of feed ${feed}.</description></item>`;
  });
  return `<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed ${feed}</title><link>https://news.example.org/${feed}</link>${entries.join('')}</channel></rss>`;
}

/**
 * 7. Feed polling: 500 feeds that answer 304 (their validators stored from an earlier poll) and 50 feeds with
 *    1,000 new items each, polled through the api; items per second into the inbox, against fetching, parsing and
 *    inserting the same items with a plain multi-row INSERT from one process.
 */
export async function feedFigures(context: BenchContext): Promise<Figure[]> {
  const unchanged = context.quick ? 100 : 500;
  const busy = context.quick ? 10 : 50;
  const perFeed = 1000;
  const documents = new Map<number, string>();
  const server = http.createServer((request, response) => {
    const [, kind, n] = (request.url ?? '').split('/');
    if (kind === 'same') {
      if (request.headers['if-none-match'] === '"v1"') return void response.writeHead(304).end();
      return void response.writeHead(200, { 'content-type': 'application/rss+xml', etag: '"v1"' }).end(rss(Number(n) + 100_000, 1));
    }
    let body = documents.get(Number(n));
    if (!body) documents.set(Number(n), (body = rss(Number(n), perFeed)));
    response.writeHead(200, { 'content-type': 'application/rss+xml' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const database = await createScratchDatabase(context.config.adminDatabaseUrl, 'bench_feeds');
  const api = await startApi(context, database, { OUTBOUND_ALLOWLIST: '127.0.0.1/32' });
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${api.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${api.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await response.json()) as Record<string, unknown>;
    if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
    return json;
  };
  const create = async (url: string, name: string) => (await call('POST', '/feeds', { url, name, pollIntervalSeconds: 86_400 })).id as string;
  const inParallel = async <T>(items: readonly T[], work: (item: T) => Promise<unknown>, width = 8) => {
    let next = 0;
    await Promise.all(Array.from({ length: width }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }));
  };
  try {
    const same = await Promise.all(Array.from({ length: unchanged }, (_, n) => create(`${base}/same/${n}`, `same ${n}`)));
    const full = await Promise.all(Array.from({ length: busy }, (_, n) => create(`${base}/busy/${n}`, `busy ${n}`)));
    context.log(`feeds: first poll of ${unchanged} feeds that will answer 304 next`);
    await inParallel(same, (id) => call('POST', `/feeds/${id}/poll`));

    context.log(`feeds: ${unchanged} × 304 and ${busy} × ${perFeed} new items through the api`);
    const started = process.hrtime.bigint();
    let notModified = 0;
    await inParallel([...same, ...full], async (id) => {
      const result = await call('POST', `/feeds/${id}/poll`);
      if (result.outcome === 'not_modified') notModified += 1;
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (notModified !== unchanged) throw new Error(`expected ${unchanged} answers 304, saw ${notModified}`);
    const owner = await Database.connect({ url: database.ownerUrl, poolSize: 2, applicationName: 'bench-feeds' });
    try {
      const { rows } = await owner.query<{ n: string }>(`SELECT count(*) AS n FROM feed_items WHERE feed_id = ANY ($1::uuid[])`, [full]);
      const items = Number(rows[0]!.n);
      if (items !== busy * perFeed) throw new Error(`expected ${busy * perFeed} items in the inbox, found ${items}`);
      const ours = items / seconds;

      // The baseline: fetch, parse and insert the same items, nothing else (no dedupe, classifier or health).
      await owner.query(`CREATE TABLE raw_items (LIKE feed_items INCLUDING DEFAULTS)`);
      const parser = new Parser();
      const rawStarted = process.hrtime.bigint();
      await inParallel(Array.from({ length: busy }, (_, n) => n), async (n) => {
        const text = await (await fetch(`${base}/busy/${n}`)).text();
        const parsed = await parser.parseString(text);
        await owner.query(
          `INSERT INTO raw_items (id, feed_id, key_hash, guid, title, link, published_at, summary, content_hash, first_seen_at, updated_at, status, relevant, confidence, evidence, reasons)
           SELECT gen_random_uuid(), $1, g, g, t, l, now(), s, g, now(), now(), 'pending', true, 1, '[]', '[]'
             FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS x(g, t, l, s)`,
          [full[n], parsed.items.map((i) => i.guid), parsed.items.map((i) => i.title), parsed.items.map((i) => i.link), parsed.items.map((i) => i.contentSnippet ?? '')],
        );
      });
      await Promise.all(Array.from({ length: unchanged }, (_, n) => fetch(`${base}/same/${n}`, { headers: { 'if-none-match': '"v1"' } })));
      const raw = (busy * perFeed) / (Number(process.hrtime.bigint() - rawStarted) / 1e9);
      return [
        throughputFigure(`feed polling: ${unchanged} feeds answering 304 and ${busy} with ${perFeed.toLocaleString('en-US')} new items each`, ours, 'items/s', 'fetch + parse + INSERT', raw, null),
        plainFigure('feed polling: the same round, in seconds', seconds, 's'),
      ];
    } finally {
      await owner.close();
    }
  } finally {
    await api.child.stop();
    await database.drop();
    server.close();
  }
}
