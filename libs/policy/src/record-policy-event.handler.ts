import {
  IllegalStateError,
  chipsReferenced,
  decide,
  foldStream,
  isEntityEventType,
  isPolicyEventType,
  stableJson,
  streamIdFor,
  type EventData,
  type PolicyCommand,
  type PolicyEvent,
  type PolicyEventType,
  type RecordedPolicyEvent,
} from '@chiptrail/domain';
import { EventIdConflictError, EventStore, StreamVersionConflictError, type EventMetadata, type EventToAppend, type StoredEvent } from '@chiptrail/event-store';
import { COMMAND_FOR_EVENT } from '@chiptrail/domain';

export interface RecordedResult {
  readonly id: string;
  readonly type: PolicyEventType;
  readonly position: number;
  readonly streamId: string;
  readonly streamVersion: number;
  readonly recordedAt: string;
  /** True when an event with this id and content was already recorded: nothing new was written. */
  readonly duplicate: boolean;
}

export interface Provenance {
  /** `user:<email>`, `api-key:<id>`, `system:<component>`. */
  readonly actor: string;
  readonly correlationId?: string;
  /** What caused this event (an inbox item, a dataset entry). */
  readonly causationId?: string;
}

export const EVENT_FOR_COMMAND = Object.fromEntries(Object.entries(COMMAND_FOR_EVENT).map(([event, command]) => [command, event])) as Record<
  PolicyCommand['type'],
  PolicyEventType
>;

const MAX_ATTEMPTS = 5;

/**
 * Records one policy event: loads the stream it belongs to, asks the decider, appends what it decides.
 * A concurrent writer to the same stream makes the append conflict; we then decide again on the fresh state.
 */
export class RecordPolicyEvent {
  constructor(private readonly store: EventStore) {}

  async handle(request: { id?: string; command: PolicyCommand }, provenance: Provenance): Promise<RecordedResult> {
    const type = EVENT_FOR_COMMAND[request.command.type];
    for (let attempt = 1; ; attempt += 1) {
      // Checked on every attempt: a concurrent retry of this very request may be what we just conflicted with.
      if (request.id) {
        const existing = await this.store.getEvent(request.id);
        if (existing) return this.replay(existing, type, request.command);
      }
      try {
        return await this.attempt(request, type, provenance);
      } catch (error) {
        // The twin may have committed between our id check and our decision, which then refuses it as already
        // done (a control imposed twice): with an id, that is the twin's answer, not a refusal.
        if (request.id && !(error instanceof StreamVersionConflictError)) {
          const existing = await this.store.getEvent(request.id);
          if (existing) return this.replay(existing, type, request.command);
        }
        if (!(error instanceof StreamVersionConflictError) || attempt >= MAX_ATTEMPTS) throw error;
      }
    }
  }

  private async attempt(request: { id?: string; command: PolicyCommand }, type: PolicyEventType, provenance: Provenance): Promise<RecordedResult> {
    const { command } = request;
    const streamId = await this.streamFor(type, command.data as Record<string, unknown>);
    const history = await this.store.readStream(streamId, 1, 100_000);
    const stream = foldStream(history.filter((event) => isPolicyEventType(event.type)).map(toRecorded));
    const chipStates = new Map<string, boolean>();
    for (const chip of await this.referencedChips(type, command.data as Record<string, unknown>)) {
      const chipHistory = await this.store.readStream(`chip-${chip}`, 1, 100_000);
      const chipStream = foldStream(chipHistory.map(toRecorded));
      chipStates.set(chip, chipStream.entries.some((entry) => entry.type === 'ChipRegistered' && !entry.retracted));
    }
    const decided = decide(command, { stream, chipRegistered: (chip) => chipStates.get(chip) ?? false });
    const result = await this.store.append(streamId, stream.version, toAppend(decided, request.id, provenance));
    const first = result.events[0]!;
    return {
      id: first.id,
      type,
      position: first.position,
      streamId,
      streamVersion: first.streamVersion,
      recordedAt: first.recordedAt.toISOString(),
      duplicate: result.duplicate,
    };
  }

  private async streamFor(type: PolicyEventType, data: Record<string, unknown>): Promise<string> {
    if (isEntityEventType(type)) return streamIdFor(type, data);
    const target = await this.store.getEvent(String(data.eventId));
    if (!target || !isPolicyEventType(target.type)) {
      throw new IllegalStateError('event_not_found', `Event ${String(data.eventId)} is not a recorded policy event.`);
    }
    return target.streamId;
  }

  private async referencedChips(type: PolicyEventType, data: Record<string, unknown>): Promise<string[]> {
    const own = chipsReferenced(type, data);
    if (type !== 'EventCorrected' || data.data === undefined) return [...new Set(own)];
    const target = await this.store.getEvent(String(data.eventId));
    return target && isPolicyEventType(target.type) ? [...new Set(chipsReferenced(target.type, data.data as Record<string, unknown>))] : own;
  }

  /** A retried request: the same content answers with the original; other content under the id is a conflict. */
  private replay(existing: StoredEvent, type: PolicyEventType, command: PolicyCommand): RecordedResult {
    if (!isSameRequest(existing, type, command)) throw new EventIdConflictError(existing.id);
    return {
      id: existing.id,
      type,
      position: existing.position,
      streamId: existing.streamId,
      streamVersion: existing.streamVersion,
      recordedAt: existing.recordedAt.toISOString(),
      duplicate: true,
    };
  }
}

/** Whether a stored event is what this request asks for (same type, data, valid time and source). */
export function isSameRequest(existing: StoredEvent, type: PolicyEventType, command: PolicyCommand): boolean {
  return (
    existing.type === type &&
    stableJson(existing.data) === stableJson(command.data as EventData<typeof type>) &&
    existing.effectiveAt.getTime() === command.metadata.effectiveAt.getTime() &&
    stableJson(existing.metadata.source) === stableJson(command.metadata.source)
  );
}

/** What the decider decided, as events to append: the request's id on the first, provenance on all. */
export function toAppend(decided: readonly PolicyEvent[], id: string | undefined, provenance: Provenance): EventToAppend[] {
  // Built field by field rather than from spreads of optional parts: an import makes one per event.
  return decided.map((event, index) => {
    const metadata: { -readonly [K in keyof EventMetadata]: EventMetadata[K] } = { actor: provenance.actor, source: event.metadata.source };
    if (provenance.correlationId) metadata.correlationId = provenance.correlationId;
    if (provenance.causationId) metadata.causationId = provenance.causationId;
    const append: { -readonly [K in keyof EventToAppend]: EventToAppend[K] } = {
      type: event.type,
      data: event.data as Record<string, unknown>,
      effectiveAt: event.metadata.effectiveAt,
      metadata,
    };
    if (index === 0 && id) append.id = id;
    return append;
  });
}

export function toRecorded(event: StoredEvent): RecordedPolicyEvent {
  return { id: event.id, type: event.type as PolicyEventType, data: event.data, effectiveAt: event.effectiveAt };
}
