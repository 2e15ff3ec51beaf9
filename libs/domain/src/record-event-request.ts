import { z } from 'zod';
import { ValidationError } from './errors';
import { COMMAND_FOR_EVENT, type PolicyCommand } from './policy-decider';
import {
  POLICY_EVENT_TYPES,
  eventDataSchemas,
  instantText,
  isPolicyEventType,
  parseInstant,
  sourceSchema,
  type PolicyEventType,
} from './policy-events';
import { parseWith } from './validation';

/** The body of `POST /api/v1/events` (and of an edited inbox approval). The admin UI validates with the same schema. */
export const recordEventRequestSchema = z
  .object({
    id: z.uuid('must be a UUID').optional(),
    type: z.string(),
    data: z.record(z.string(), z.unknown()),
    effectiveAt: instantText.optional(),
    source: sourceSchema,
  })
  .strict();

export type RecordEventRequest = z.infer<typeof recordEventRequestSchema>;

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
  const effectiveAt = request.effectiveAt === undefined ? now : (parseInstant(request.effectiveAt) as Date);
  return {
    id: request.id?.toLowerCase(),
    command: { type: COMMAND_FOR_EVENT[type], data, metadata: { effectiveAt, source: request.source } } as PolicyCommand,
  };
}
