import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import iconv from 'iconv-lite';
import { FeedParseError, parseFeedDocument } from './feed-document';

const fixture = (name: string) => readFileSync(path.resolve(__dirname, '../../../tests/fixtures/feeds', name));
const rss = (encoding: string, title: string, extra = '') =>
  `<?xml version="1.0" encoding="${encoding}"?><rss version="2.0"><channel><title>T</title>${extra}<item><title>${title}</title><link>https://x.example/1</link><guid>1</guid></item></channel></rss>`;

async function failure(body: Buffer, contentType?: string): Promise<FeedParseError> {
  const error = await parseFeedDocument(body, contentType).then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(FeedParseError);
  return error as FeedParseError;
}

describe('parsing feeds', () => {
  it('reads the captured fixtures: RSS 2.0, Atom, the Federal Register API and a GBK feed', async () => {
    const fr = await parseFeedDocument(fixture('federal-register-bis.rss'), 'application/rss+xml');
    expect(fr).toMatchObject({ kind: 'rss', title: 'Federal Register: Documents from the Industry and Security Bureau' });
    expect(fr.items.map((i) => i.guid)).toEqual(['https://www.federalregister.gov/d/2023-23055', 'https://www.federalregister.gov/d/2024-28270', '2025-00636', 'https://www.federalregister.gov/d/2024-28267']);
    expect(fr.items[2]!.summary).toContain("EAR's controls");
    expect(fr.items[0]!.publishedAt).toEqual(new Date('2023-10-25T04:00:00Z'));

    const atom = await parseFeedDocument(fixture('export-news.atom'), undefined);
    expect(atom.kind).toBe('atom');
    expect(atom.items[0]).toMatchObject({ guid: 'urn:uuid:0a1e9a0e-0e6a-4f1e-8f3e-6c2a3f1e0001', link: 'https://news.example.org/2025/04/15/h20-license' });
    expect(atom.items[0]!.summary).toMatch(/^Nvidia disclosed .* export the H20 to China/);
    expect(atom.items[0]!.summary).not.toContain('<b>');

    const api = await parseFeedDocument(fixture('federal-register-documents.json'), 'application/json');
    expect(api.kind).toBe('federal_register');
    expect(api.items[0]).toMatchObject({ guid: '2023-23055', effectiveOn: '2023-11-17', publishedAt: new Date('2023-10-25T00:00:00Z'), agencies: ['DEPARTMENT OF COMMERCE', 'Bureau of Industry and Security'] });

    const gbk = await parseFeedDocument(fixture('mofcom-policy.gbk.rss'), 'text/xml');
    expect(gbk.charset).toBe('gbk');
    expect(gbk.title).toBe('商务部 政策发布');
    expect(gbk.items[1]!.title).toBe('商务部新闻发言人就对原产于美国的进口相关模拟芯片发起反倾销调查答记者问');
  });

  it('reduces markup in titles and summaries to text, dropping script and style contents', async () => {
    const escaped = (html: string) => html.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    const title = escaped('H20 <b>licence</b><script>alert(1)</script><style>b{}</style> <img src=x onerror="alert(2)">required');
    const parsed = await parseFeedDocument(Buffer.from(rss('utf-8', title)), 'application/rss+xml');
    expect(parsed.items[0]!.title).toBe('H20 licence required');
  });

  it('takes the charset from the prolog, then the header: windows-1252, Big5, GB2312', async () => {
    const cp1252 = iconv.encode(rss('windows-1252', 'Café – “export” controls'), 'windows-1252');
    expect((await parseFeedDocument(cp1252, 'text/xml; charset=utf-8')).items[0]!.title).toBe('Café – “export” controls');
    const big5 = iconv.encode(rss('Big5', '出口管制 台灣'), 'big5');
    expect((await parseFeedDocument(big5, undefined)).items[0]!.title).toBe('出口管制 台灣');
    const gb2312 = iconv.encode(rss('GB2312', '许可证 禁止'), 'gb2312');
    expect((await parseFeedDocument(gb2312, undefined)).items[0]!.title).toBe('许可证 禁止');
    const noProlog = iconv.encode('<rss version="2.0"><channel><title>T</title><item><title>Naïve</title><guid>1</guid></item></channel></rss>', 'windows-1252');
    expect((await parseFeedDocument(noProlog, 'application/rss+xml; charset=windows-1252')).items[0]!.title).toBe('Naïve');
  });

  it('records a wrong or unknown declared charset as an error', async () => {
    const gbkBytesDeclaredUtf8 = iconv.encode(rss('UTF-8', '出口管制'), 'gbk');
    expect((await failure(gbkBytesDeclaredUtf8)).code).toBe('bad_charset');
    expect((await failure(Buffer.from(rss('x-klingon', 'hi')))).code).toBe('unsupported_charset');
  });

  it('tolerates HTML entities and double escaping', async () => {
    const body = Buffer.from(rss('UTF-8', 'Export&nbsp;rule &mdash; the EAR&amp;#39;s &eacute;dition &unknownentity;'));
    expect((await parseFeedDocument(body, undefined)).items[0]!.title).toBe("Export rule — the EAR's édition &unknownentity;");
  });

  it('refuses entity declarations (no expansion bombs)', async () => {
    const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><rss version="2.0"><channel><title>&lol2;</title></channel></rss>`;
    expect((await failure(Buffer.from(bomb))).code).toBe('entity_declarations');
  });

  it('records invalid XML, an HTML page, an empty body and JSON that is not the documents API', async () => {
    expect((await failure(Buffer.from('<rss version="2.0"><channel><title>broken</channel>'))).code).toMatch(/invalid_xml|not_a_feed/);
    expect((await failure(Buffer.from('<!doctype html><html><head><title>Hi</title></head><body>Not a feed</body></html>'), 'text/html')).code).toBe('not_a_feed');
    expect((await failure(Buffer.alloc(0))).code).toBe('empty_body');
    expect((await failure(Buffer.from('   \n  '))).code).toBe('empty_body');
    expect((await failure(Buffer.from('{"documents": []}'))).code).toBe('not_a_feed');
    expect((await failure(Buffer.from('{"results": [}'))).code).toBe('invalid_json');
  });

  it('reads RSS 1.0 (RDF) and the RSS <ttl>', async () => {
    const rdf = `<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
      <channel rdf:about="https://x.example/"><title>RDF feed</title><link>https://x.example/</link><description>d</description></channel>
      <item rdf:about="https://x.example/a"><title>Licence required for H20</title><link>https://x.example/a</link><description>News</description></item></rdf:RDF>`;
    const parsed = await parseFeedDocument(Buffer.from(rdf), undefined);
    expect(parsed.kind).toBe('rdf');
    expect(parsed.items[0]).toMatchObject({ title: 'Licence required for H20', link: 'https://x.example/a' });
    expect((await parseFeedDocument(Buffer.from(rss('UTF-8', 'x', '<ttl>90</ttl>')), undefined)).ttlMinutes).toBe(90);
  });
});
