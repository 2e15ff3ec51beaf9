import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiConsumes, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ValidationError, parseRecordEventRequest, recordEventRequestSchema } from '@chiptrail/domain';
import { ApiBodyFrom, ApiProblems, ApiQueryFrom, ApiSecured } from '@chiptrail/http';
import { Access, CurrentPrincipal, type Principal } from '@chiptrail/auth';
import { Clock } from '@chiptrail/runtime';
import { EventQueries, listEventsQuery, type CatalogEntry } from './event-queries';
import { ImportPolicyEvents } from './import-policy-events.handler';
import { importNdjson, ndjsonLines } from './ndjson-import';
import { RecordPolicyEvent } from './record-policy-event.handler';

@ApiTags('events')
@Controller('api/v1')
export class EventsController {
  constructor(
    private readonly record: RecordPolicyEvent,
    private readonly importer: ImportPolicyEvents,
    private readonly queries: EventQueries,
    private readonly clock: Clock,
  ) {}

  @Post('events')
  @Access('curator')
  @ApiOperation({
    summary: 'Record a policy event. 201 with its id and position; a retry with the same id and content answers 200 with the original.',
    description:
      'effectiveAt is a date (midnight UTC) or an ISO 8601 timestamp; EventRetracted and EventCorrected may omit it (now). ' +
      'The event is checked against the stream it belongs to (a licence must be granted before it is revoked, …).',
  })
  @ApiBodyFrom(recordEventRequestSchema)
  @ApiSecured()
  @ApiProblems(400, 409)
  async create(
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
    @Headers('x-request-id') requestId: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const parsed = parseRecordEventRequest(body, this.clock.now());
    const result = await this.record.handle(parsed, {
      actor: principal.id,
      ...(requestId && /^[\w.:-]{1,100}$/.test(requestId) ? { correlationId: requestId } : {}),
    });
    void reply.status(result.duplicate ? 200 : 201);
    return result;
  }

  @Post('events/import')
  @HttpCode(200)
  @Access('admin')
  @ApiConsumes('application/x-ndjson')
  @ApiOperation({
    summary: 'Record many policy events: one POST /events body per line (application/x-ndjson), checked by the same rules.',
    description:
      'Written in transactions of 10,000 events. A bad line is answered 400 naming the line; batches before it stay recorded, ' +
      'so give every event an id: sending the same file again then skips what was recorded. Lines up to 1 MiB, bodies up to 2 GiB.',
  })
  @ApiSecured()
  @ApiProblems(400, 409, 413)
  async import(@Body() body: unknown, @CurrentPrincipal() principal: Principal) {
    if (!isStream(body)) {
      throw new ValidationError('ndjson_required', 'Send the events as application/x-ndjson: one POST /api/v1/events body per line.');
    }
    const result = await importNdjson(ndjsonLines(body), this.importer, { actor: principal.id, correlationId: `import:${this.clock.now().toISOString()}` }, this.clock);
    return { imported: result.imported, alreadyRecorded: result.alreadyRecorded, lines: result.lines, seconds: Math.round(result.seconds * 100) / 100 };
  }

  @Get('events')
  @Access('viewer')
  @ApiOperation({ summary: 'Policy events, filtered, newest first, with cursor pagination.' })
  @ApiQueryFrom(listEventsQuery)
  @ApiSecured()
  @ApiProblems(400)
  list(@Query() query: unknown) {
    return this.queries.list(query);
  }

  @Get('events/:id')
  @Access('viewer')
  @ApiOperation({ summary: 'One event: data, provenance, hash, corrections and retraction.' })
  @ApiParam({ name: 'id', schema: { type: 'string', format: 'uuid' } })
  @ApiSecured()
  @ApiProblems(400, 404)
  get(@Param('id') id: string) {
    return this.queries.get(id);
  }

  @Get('feed.atom')
  @Access('viewer')
  @ApiOperation({ summary: 'The curated events as an Atom feed (newest 100).' })
  @ApiSecured()
  async atom(@Res() reply: FastifyReply): Promise<void> {
    const entries = await this.queries.latest(100);
    void reply.type('application/atom+xml; charset=utf-8').send(atomFeed(entries, this.clock.now()));
  }
}

function isStream(value: unknown): value is AsyncIterable<Buffer> {
  return !!value && typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function' && typeof (value as { pipe?: unknown }).pipe === 'function';
}

export function atomFeed(entries: readonly CatalogEntry[], now: Date): string {
  const updated = entries[0]?.recordedAt ?? now.toISOString();
  const items = entries.map((entry) => {
    const source = (entry.source ?? {}) as { url?: string; title?: string };
    const summary = [
      `${entry.type}${entry.authority ? ` by ${entry.authority}` : ''}, effective ${entry.effectiveAt.slice(0, 10)}.`,
      entry.chips.length ? `Chips: ${entry.chips.join(', ')}.` : '',
      entry.eccnBands.length ? `ECCN bands: ${entry.eccnBands.join(', ')}.` : '',
      entry.destinations.length ? `Destinations: ${entry.destinations.join(', ')}.` : '',
      entry.retracted ? `Retracted ${entry.retracted.at.slice(0, 10)}.` : '',
      source.title ? `Source: ${source.title}.` : '',
    ]
      .filter(Boolean)
      .join(' ');
    return [
      '  <entry>',
      `    <id>urn:uuid:${entry.id}</id>`,
      `    <title>${xml(`${entry.type}: ${entry.title ?? entry.id}`)}</title>`,
      `    <updated>${entry.recordedAt}</updated>`,
      `    <published>${entry.recordedAt}</published>`,
      source.url ? `    <link rel="related" href="${xml(source.url)}"/>` : '',
      `    <category term="${xml(entry.type)}"/>`,
      `    <summary type="text">${xml(summary)}</summary>`,
      '  </entry>',
    ]
      .filter(Boolean)
      .join('\n');
  });
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<feed xmlns="http://www.w3.org/2005/Atom">',
    '  <title>chiptrail: chip export-control events</title>',
    '  <id>urn:chiptrail:events</id>',
    `  <updated>${updated}</updated>`,
    '  <generator>chiptrail</generator>',
    ...items,
    '</feed>',
    '',
  ].join('\n');
}

/** Escapes text for XML and drops characters XML 1.0 cannot carry at all. */
export function xml(text: string): string {
  return text
    .replace(/[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
