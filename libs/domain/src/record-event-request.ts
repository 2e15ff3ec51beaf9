import { z } from 'zod';
import { ValidationError } from './errors';
import { COMMAND_FOR_EVENT, type PolicyCommand } from './policy-decider';
import {
  POLICY_EVENT_TYPES,
  eventDataSchemas,
  instant,
  isPolicyEventType,
  sourceSchema,
  type PolicyEventType,
} from './policy-events';
import { parseWith } from './validation';

/**
 * An event's `data` is only checked to be an object here: its type's own schema checks every field next. A record
 * schema copied every field first, a tenth of what validating an imported event cost.
 */
const eventData = z
  .custom<Record<string, unknown>>((value) => typeof value === 'object' && value !== null && !Array.isArray(value), {
    error: (issue) => (issue.input === undefined ? 'is required' : 'must be an object with the fields of the event type'),
  })
  .meta({ type: 'object', additionalProperties: {} });

/** The body of `POST /api/v1/events` (and of an edited inbox approval). The admin UI validates with the same schema. */
export const recordEventRequestSchema = z
  .object({
    id: z.uuid('must be a UUID').optional(),
    type: z.string(),
    data: eventData,
    effectiveAt: instant.optional(),
    source: sourceSchema,
  })
  .strict();

/** A request body as sent (its effectiveAt is text). */
export type RecordEventRequest = z.input<typeof recordEventRequestSchema>;

/** Types whose effectiveAt may be left out: they act on what we know, not on the world (default: now). */
const KNOWLEDGE_EVENTS: ReadonlySet<PolicyEventType> = new Set(['EventRetracted', 'EventCorrected']);

export interface ParsedRecordRequest {
  readonly id: string | undefined;
  readonly command: PolicyCommand;
}

export function parseRecordEventRequest(body: unknown, now: Date): ParsedRecordRequest {
  const request = parseWith(recordEventRequestSchema, body);
  if (!isPolicyEventType(request.type)) {
    throw new ValidationError('unknown_event_type', `type: "${request.type}" is not an event type; expected one of ${POLICY_EVENT_TYPES.join(', ')}.`, [
      { field: 'type', message: `unknown event type ${request.type}` },
    ]);
  }
  const type = request.type;
  const data = parseWith(eventDataSchemas[type], request.data, 'data');
  if (request.effectiveAt === undefined && !KNOWLEDGE_EVENTS.has(type)) {
    throw ValidationError.field('effectiveAt', 'is required: when does this take effect? (a date or an ISO 8601 timestamp)');
  }
  const effectiveAt = request.effectiveAt ?? now;
  return {
    id: request.id?.toLowerCase(),
    command: { type: COMMAND_FOR_EVENT[type], data, metadata: { effectiveAt, source: request.source } } as PolicyCommand,
  };
}
