import { decodeHTML } from 'entities';
import iconv from 'iconv-lite';
import Parser from 'rss-parser';

export type FeedKind = 'rss' | 'atom' | 'rdf' | 'federal_register';

export interface ParsedItem {
  readonly guid: string | null;
  readonly title: string | null;
  readonly link: string | null;
  readonly publishedAt: Date | null;
  /** Plain text (tags stripped, entities decoded). */
  readonly summary: string | null;
  /** Federal Register documents carry a structured effective date. */
  readonly effectiveOn: string | null;
  readonly agencies: readonly string[];
}

export interface ParsedFeed {
  readonly kind: FeedKind;
  readonly title: string | null;
  /** RSS `<ttl>`: minutes a reader should wait before polling again. */
  readonly ttlMinutes: number | null;
  readonly items: readonly ParsedItem[];
  readonly charset: string;
}

export class FeedParseError extends Error {
  constructor(
    readonly code: 'empty_body' | 'unsupported_charset' | 'bad_charset' | 'entity_declarations' | 'not_a_feed' | 'invalid_xml' | 'invalid_json',
    message: string,
  ) {
    super(message);
    this.name = 'FeedParseError';
  }
}

const parser = new Parser({ customFields: { feed: ['ttl'], item: [['dc:creator', 'creator']] } });

/**
 * Turns a fetched body into items: charset from the XML prolog, then the Content-Type header, then UTF-8; HTML
 * named entities tolerated; DTD entity declarations refused (no expansion bombs); the Federal Register documents API
 * (JSON) recognised by its envelope.
 */
export async function parseFeedDocument(body: Buffer, contentType: string | undefined): Promise<ParsedFeed> {
  if (body.length === 0 || body.toString('latin1').trim() === '') throw new FeedParseError('empty_body', 'The server answered with an empty body.');
  const { text, charset } = decode(body, contentType);
  const start = text.trimStart();
  if (start.startsWith('{') || start.startsWith('[')) return parseFederalRegister(start, charset);
  if (/<!ENTITY/i.test(text.slice(0, 65536))) {
    throw new FeedParseError('entity_declarations', 'The document declares XML entities; chiptrail refuses them (entity expansion).');
  }
  const kind: FeedKind = /<rdf:RDF[\s>]/i.test(start.slice(0, 4096)) ? 'rdf' : /<feed[\s>]/i.test(start.slice(0, 4096)) ? 'atom' : 'rss';
  let feed: Awaited<ReturnType<typeof parser.parseString>>;
  try {
    feed = await parser.parseString(tolerateHtmlEntities(text));
  } catch (error) {
    const message = (error as Error).message ?? String(error);
    if (/not recognized as RSS|Unable to parse XML/i.test(message) || /<html[\s>]/i.test(start.slice(0, 2048))) {
      throw new FeedParseError('not_a_feed', `This is not an RSS or Atom feed (${message.split('\n')[0]}).`);
    }
    throw new FeedParseError('invalid_xml', `The feed is not well-formed XML: ${message.split('\n')[0]}`);
  }
  const ttl = Number((feed as { ttl?: unknown }).ttl);
  return {
    kind,
    charset,
    title: plain(feed.title),
    ttlMinutes: Number.isFinite(ttl) && ttl > 0 ? ttl : null,
    items: (feed.items ?? []).map((item) => {
      const raw = item as unknown as Record<string, unknown>;
      return {
        guid: stringOrNull(raw.guid) ?? stringOrNull(raw.id),
        title: plain(item.title),
        link: stringOrNull(item.link),
        publishedAt: date(item.isoDate) ?? date(item.pubDate),
        summary: plain(stringOrNull(raw.content) ?? stringOrNull(raw.summary) ?? stringOrNull(raw.description) ?? item.contentSnippet),
        effectiveOn: null,
        agencies: stringOrNull(raw.creator) ? [String(raw.creator)] : [],
      };
    }),
  };
}

function parseFederalRegister(text: string, charset: string): ParsedFeed {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new FeedParseError('invalid_json', `The body is not valid JSON: ${(error as Error).message}`);
  }
  const results = (json as { results?: unknown })?.results;
  if (!Array.isArray(results)) {
    throw new FeedParseError('not_a_feed', 'JSON without a "results" array is not a Federal Register documents response.');
  }
  return {
    kind: 'federal_register',
    charset,
    title: plain((json as { description?: string }).description),
    ttlMinutes: null,
    items: results
      .filter((doc): doc is Record<string, unknown> => typeof doc === 'object' && doc !== null)
      .map((doc) => ({
        guid: stringOrNull(doc.document_number),
        title: plain(stringOrNull(doc.title)),
        link: stringOrNull(doc.html_url) ?? (doc.document_number ? `https://www.federalregister.gov/d/${String(doc.document_number)}` : null),
        publishedAt: date(stringOrNull(doc.publication_date)),
        summary: plain([stringOrNull(doc.abstract), stringOrNull(doc.dates)].filter(Boolean).join(' ')),
        effectiveOn: typeof doc.effective_on === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(doc.effective_on) ? doc.effective_on : null,
        agencies: Array.isArray(doc.agencies)
          ? doc.agencies.map((agency) => stringOrNull((agency as Record<string, unknown>)?.raw_name) ?? '').filter(Boolean)
          : [],
      })),
  };
}

/** Charset: a byte-order mark, else the XML prolog, else the Content-Type header, else UTF-8. */
function decode(body: Buffer, contentType: string | undefined): { text: string; charset: string } {
  if (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) return { text: strictUtf8(body.subarray(3), 'UTF-8 (byte-order mark)'), charset: 'utf-8' };
  if (body[0] === 0xff && body[1] === 0xfe) return { text: iconv.decode(body.subarray(2), 'utf-16le'), charset: 'utf-16le' };
  if (body[0] === 0xfe && body[1] === 0xff) return { text: iconv.decode(body.subarray(2), 'utf-16be'), charset: 'utf-16be' };
  const head = body.subarray(0, 512).toString('latin1');
  const prolog = /^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/i.exec(head)?.[1];
  const header = /charset\s*=\s*"?([A-Za-z0-9._-]+)"?/i.exec(contentType ?? '')?.[1];
  const declared = (prolog ?? header ?? 'utf-8').toLowerCase();
  if (declared === 'utf-8' || declared === 'utf8') return { text: strictUtf8(body, prolog ? 'the XML prolog' : header ? 'the Content-Type header' : 'the default'), charset: 'utf-8' };
  if (!iconv.encodingExists(declared)) {
    throw new FeedParseError('unsupported_charset', `The feed declares the charset "${declared}", which chiptrail cannot decode.`);
  }
  return { text: iconv.decode(body, declared), charset: declared };
}

function strictUtf8(bytes: Buffer, declaredBy: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new FeedParseError('bad_charset', `The body is not valid UTF-8, as declared by ${declaredBy}; the declared charset is wrong.`);
  }
}

const XML_ENTITIES = new Set(['amp', 'lt', 'gt', 'quot', 'apos']);

/** XML knows five named entities; feeds written by HTML tools use the rest (`&nbsp;`, `&eacute;`…). */
function tolerateHtmlEntities(text: string): string {
  return text.replace(/&([A-Za-z][A-Za-z0-9]{1,31});/g, (match, name: string) => {
    if (XML_ENTITIES.has(name)) return match;
    const decoded = decodeHTML(match);
    return decoded === match ? `&amp;${name};` : [...decoded].map((ch) => `&#${ch.codePointAt(0)};`).join('');
  });
}

/** Half of a surrogate pair on its own: not text, and PostgreSQL refuses it. */
export const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Text for people: tags stripped, entities decoded (twice: feeds double-escape), whitespace collapsed. */
export function plain(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  // Scripts and styles are code, not text: their contents go with their tags.
  const tags = (html: string) => html.replace(/<(script|style)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, ' ').replace(/<[^>]*>/g, ' ');
  const text = decodeHTML(tags(decodeHTML(tags(value))))
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g, '')
    .replace(LONE_SURROGATE, '\uFFFD')
    .replace(/\s+/g, ' ')
    .trim();
  return text === '' ? null : text;
}

function stringOrNull(value: unknown): string | null {
  if (typeof value === 'string') {
    const clean = value.replace(/\u0000/g, '').replace(LONE_SURROGATE, '\uFFFD').trim();
    return clean === '' ? null : clean;
  }
  if (typeof value === 'number') return String(value);
  if (value && typeof value === 'object' && typeof (value as { _?: unknown })._ === 'string') return stringOrNull((value as { _: string })._);
  return null;
}

function date(value: unknown): Date | null {
  if (typeof value !== 'string' || value.trim() === '') return null;
  const parsed = new Date(value);
  if (Number.isNaN(parsed.getTime())) return null;
  const year = parsed.getUTCFullYear();
  return year < 1990 || year > 2200 ? null : parsed;
}
