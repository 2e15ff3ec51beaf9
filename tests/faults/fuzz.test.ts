import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { environment } from '@chiptrail/config';
import { Database } from '@chiptrail/db';
import { readJson, startTestApp, type TestApp } from '@chiptrail/testing';
import { recordFigures } from './figures';
import { tableDigests } from './support';

/**
 * Property-based fuzzing of every operation in the OpenAPI document: requests shaped by each operation's schema,
 * mutated, or plain garbage, with hostile strings everywhere. No answer may be a 5xx, every refusal is a problem
 * document, and a refused request leaves every table exactly as it was.
 */
const TOTAL_REQUESTS = Number(environment().FUZZ_REQUESTS ?? 10_000);

type Schema = {
  type?: string;
  enum?: unknown[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  nullable?: boolean;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
};
type Operation = {
  parameters?: Array<{ name: string; in: 'path' | 'query'; required?: boolean; schema?: Schema }>;
  requestBody?: { content: Record<string, { schema?: Schema }> };
};

/** Strings that have broken other systems: control characters, lone surrogates, bidi overrides, injections. */
const HOSTILE = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff\ud800',
  '\u202eevil\u202c',
  '\u200b\u200d\ufeff',
  'ǅǈǋ',
  'Ω≈ç√∫˜µ≤≥÷',
  '💥🇨🇳👩‍👩‍👧‍👦',
  'ｔｅｓｔ',
  "'; DROP TABLE events; --",
  "' OR '1'='1",
  '" OR ""="',
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  ']]><!ENTITY x SYSTEM "file:///etc/passwd">',
  '{{7*7}}${7*7}',
  '../../../../etc/passwd',
  '%00%2e%2e%2f',
  'a\r\nSet-Cookie: x=y',
  '-1',
  '1e309',
  'NaN',
  'null',
  'true',
  '9999-12-31T23:59:59.999Z',
  '0000-00-00',
  '2025-02-30',
  '-271821-04-20',
  'infinity',
  'x'.repeat(10_000),
];

const hostile = fc.constantFrom(...HOSTILE);
const anyString = fc.oneof({ weight: 3, arbitrary: fc.string({ maxLength: 40, unit: 'grapheme' }) }, { weight: 2, arbitrary: hostile }, { weight: 1, arbitrary: fc.string({ maxLength: 20, unit: 'binary' }) });
const anyJson = fc.jsonValue({ maxDepth: 3 }).map((value) => value as unknown);

function fromSchema(schema: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 4) return anyJson;
  const inner = (): fc.Arbitrary<unknown> => {
    if (schema.enum) return fc.constantFrom(...schema.enum);
    const options = schema.oneOf ?? schema.anyOf;
    if (options && options.length > 0) return fc.oneof(...options.map((option) => fromSchema(option, depth + 1)));
    if (schema.allOf && schema.allOf.length > 0) return fromSchema(schema.allOf[0], depth + 1);
    switch (schema.type ?? 'any') {
      case 'string':
        if (schema.format === 'uuid') return fc.uuid();
        if (schema.format === 'date-time') return fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
        if (schema.pattern) return fc.oneof(fc.stringMatching(new RegExp(schema.pattern)), anyString);
        return fc.oneof(fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 30, 60) }), anyString);
      case 'integer':
        return fc.oneof(fc.integer({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6 }), fc.integer());
      case 'number':
        return fc.oneof(fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true }), fc.double({ noNaN: true }));
      case 'boolean':
        return fc.boolean();
      case 'array':
        return fc.array(fromSchema(schema.items, depth + 1), { maxLength: 4 });
      case 'object': {
        const properties = schema.properties ?? {};
        const keys = Object.keys(properties);
        if (keys.length === 0) return fc.dictionary(anyString, anyJson, { maxKeys: 4 });
        return fc.record(Object.fromEntries(keys.map((key) => [key, fromSchema(properties[key], depth + 1)])), {
          requiredKeys: (schema.required ?? []).filter((key) => keys.includes(key)),
        });
      }
      default:
        return anyJson;
    }
  };
  const shaped = inner();
  return schema.nullable ? fc.option(shaped, { nil: null }) : shaped;
}

/** Schema-shaped values with one field replaced by something else, or a field added that should not be there. */
function mutated(base: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.tuple(base, fc.nat(), fc.oneof(anyJson, hostile), fc.boolean()).map(([value, pick, junk, add]) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return junk;
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    const keys = Object.keys(copy);
    if (add || keys.length === 0) copy[`extra${pick % 7}`] = junk;
    else copy[keys[pick % keys.length]!] = junk;
    return copy;
  });
}

/** A lone surrogate cannot travel in a URL: it goes as U+FFFD, as a browser would send it. */
function wellFormed(text: string): string {
  return text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

interface FuzzRequest {
  readonly path: string;
  readonly query: string;
  readonly contentType: string | null;
  readonly body: string | undefined;
}

describe('fuzzing every endpoint from the OpenAPI document', () => {
  let app: TestApp;
  let tables: string[];
  let owner: Database;

  beforeAll(async () => {
    app = await startTestApp();
    // Something to aim at: a chip, a control, a feed, a subscription, an API key.
    const source = { url: 'https://example.gov/rule', title: 'Rule', publishedAt: '2025-01-01' };
    await app.call('curator', 'POST', '/api/v1/events', { type: 'ChipRegistered', data: { chip: 'nvidia-h20', vendor: 'NVIDIA', model: 'H20', datacenter: true }, effectiveAt: '2024-01-01', source });
    await app.call('curator', 'POST', '/api/v1/events', {
      type: 'ControlImposed',
      data: { measureId: 'm1', authority: 'US-BIS', direction: 'export', requirement: 'license_required', scope: { chips: ['nvidia-h20'] }, destinations: ['CN'], title: 'Rule' },
      effectiveAt: '2025-04-09',
      source,
    });
    await app.call('admin', 'POST', '/api/v1/feeds', { url: 'https://www.federalregister.gov/api/v1/documents.json', name: 'FR' });
    await app.call('viewer', 'POST', '/api/v1/subscriptions', { channel: 'webhook', url: 'https://hooks.example.com/a' });
    await app.settle();
    owner = await Database.connect({ url: app.database.ownerUrl, poolSize: 1, applicationName: 'fuzz-fingerprint' });
    const { rows } = await owner.query<{ tablename: string }>(
      `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'rate_limits' ORDER BY 1`,
    );
    tables = rows.map((row) => row.tablename);
  }, 120_000);

  afterAll(async () => {
    await owner?.close();
    await app?.close();
  });

  /** Every table's content (rate-limit counters aside: counting refused sign-ins is their job). */
  const fingerprint = () => tableDigests(owner, tables);

  it(`${TOTAL_REQUESTS.toLocaleString('en-US')} generated requests: no 5xx, every refusal a problem document, no stored change from any refusal`, async () => {
    const document = (await readJson(await app.call('anonymous', 'GET', '/api/docs/openapi.json'))) as { paths: Record<string, Record<string, Operation>> };
    const operations = Object.entries(document.paths).flatMap(([template, ops]) => Object.entries(ops).map(([method, operation]) => ({ method: method.toUpperCase(), template, operation })));
    const known = await app.runtime.db.query<{ id: string }>(
      `SELECT id::text FROM feeds UNION ALL SELECT id::text FROM subscriptions UNION ALL SELECT event_id::text FROM events LIMIT 20`,
    );
    const realIds = known.rows.map((row) => row.id);
    const token = await app.credential('admin');
    let before = await fingerprint();
    const counts = { requests: 0, refused: 0, accepted: 0, serverErrors: 0 };
    const perOperation = Math.ceil(TOTAL_REQUESTS / operations.length);

    for (const { method, template, operation } of operations) {
      const pathParams = (operation.parameters ?? []).filter((p) => p.in === 'path');
      const queryParams = (operation.parameters ?? []).filter((p) => p.in === 'query');
      const jsonSchema = operation.requestBody?.content['application/json']?.schema;
      const segment = fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...realIds, 'nvidia-h20', randomUUID()) }, { weight: 3, arbitrary: anyString });
      const pathArb = fc.tuple(...pathParams.map(() => segment)).map((values) => pathParams.reduce((acc, p, i) => acc.replace(`{${p.name}}`, encodeURIComponent(wellFormed(String(values[i])))), template));
      const queryArb = fc
        .tuple(
          fc.tuple(...queryParams.map((p) => fc.option(fc.oneof(fromSchema(p.schema), anyString), { nil: undefined }))),
          fc.option(fc.tuple(anyString, anyString), { nil: undefined }),
        )
        .map(([values, extra]) => {
          const search = new URLSearchParams();
          queryParams.forEach((p, i) => {
            if (values[i] !== undefined) search.append(p.name, typeof values[i] === 'string' ? values[i] : JSON.stringify(values[i]));
          });
          if (extra) search.append(extra[0], extra[1]);
          return search.toString();
        });
      const sendsBody = ['POST', 'PATCH', 'PUT'].includes(method);
      const shaped = fromSchema(jsonSchema);
      const bodyArb: fc.Arbitrary<{ contentType: string | null; body: string | undefined }> = sendsBody
        ? fc.oneof(
            { weight: 4, arbitrary: shaped.map((value) => ({ contentType: 'application/json', body: JSON.stringify(value) })) },
            { weight: 4, arbitrary: mutated(shaped).map((value) => ({ contentType: 'application/json', body: JSON.stringify(value) })) },
            { weight: 2, arbitrary: anyJson.map((value) => ({ contentType: 'application/json', body: JSON.stringify(value) })) },
            { weight: 1, arbitrary: fc.constantFrom('{', '{"a":', '[1,]', '{"__proto__": {"admin": true}}', `${'['.repeat(5000)}${']'.repeat(5000)}`).map((body) => ({ contentType: 'application/json', body })) },
            { weight: 1, arbitrary: fc.tuple(anyString, fc.constantFrom('text/plain', 'application/x-ndjson', 'application/xml', 'multipart/form-data')).map(([body, contentType]) => ({ contentType, body })) },
            { weight: 1, arbitrary: fc.array(fc.oneof(mutated(shaped), anyJson), { maxLength: 3 }).map((lines) => ({ contentType: 'application/x-ndjson', body: lines.map((line) => JSON.stringify(line)).join('\n') })) },
          )
        : fc.constant({ contentType: null, body: undefined });
      const requestArb: fc.Arbitrary<FuzzRequest> = fc.record({ path: pathArb, query: queryArb, payload: bodyArb }).map(({ path, query, payload }) => ({ path, query, ...payload }));

      await fc.assert(
        fc.asyncProperty(requestArb, async (request) => {
          counts.requests += 1;
          const url = `${app.baseUrl}${request.path}${request.query ? `?${request.query}` : ''}`;
          const response = await fetch(url, {
            method,
            headers: { authorization: `Bearer ${token}`, ...(request.contentType ? { 'content-type': request.contentType } : {}) },
            body: request.body,
            signal: AbortSignal.timeout(15_000),
          });
          const text = await response.text();
          const after = await fingerprint();
          if (response.status >= 500) counts.serverErrors += 1;
          expect({ method, status: response.status < 500 ? 'not 5xx' : response.status, text: response.status < 500 ? '' : text }).toEqual({ method, status: 'not 5xx', text: '' });
          if (response.status >= 400) {
            counts.refused += 1;
            if (!(response.headers.get('content-type') ?? '').startsWith('text/html')) {
              expect(response.headers.get('content-type')).toContain('application/problem+json');
              const problem = JSON.parse(text) as { code?: unknown; detail?: unknown; status?: unknown };
              expect(typeof problem.code).toBe('string');
              expect(typeof problem.detail).toBe('string');
              expect(problem.status).toBe(response.status);
            }
            const changed = Object.keys(after).filter((table) => after[table] !== before[table]);
            expect({ refused: `${method} ${template} → ${response.status}`, changed }).toEqual({ refused: `${method} ${template} → ${response.status}`, changed: [] });
          } else {
            counts.accepted += 1;
          }
          before = after;
        }),
        { numRuns: perOperation, endOnFailure: true },
      );
    }
    recordFigures('fuzzing', { 'requests fuzzed': counts.requests, 'refused (4xx)': counts.refused, 'accepted (2xx/3xx)': counts.accepted, '5xx answers': counts.serverErrors });
    expect(counts.requests).toBeGreaterThanOrEqual(TOTAL_REQUESTS);
    expect(counts.serverErrors).toBe(0);
  }, 1_800_000);
});
