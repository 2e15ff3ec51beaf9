import {
  IllegalStateError,
  chipsReferenced,
  decide,
  evolve,
  foldStream,
  isEntityEventType,
  isPolicyEventType,
  streamIdFor,
  type PolicyCommand,
  type PolicyEventType,
  type StreamState,
} from '@chiptrail/domain';
import { EventIdConflictError, EventStore, type EventToAppend, type ImportResult, type StoredEvent } from '@chiptrail/event-store';
import { Clock, uuidv7 } from '@chiptrail/runtime';
import { EVENT_FOR_COMMAND, isSameRequest, toAppend, toRecorded, type Provenance } from './record-policy-event.handler';

export interface ImportRequest {
  readonly id?: string;
  readonly command: PolicyCommand;
  /** What this one event stems from (a dataset entry), added to the shared provenance. */
  readonly causationId?: string;
}

export interface PolicyImportResult extends ImportResult {
  /** Requests whose event was already recorded with the same content (a retried import): skipped. */
  readonly alreadyRecorded: number;
}

interface TargetRef {
  readonly streamId: string;
  readonly type: PolicyEventType;
}

/**
 * Records many policy events at once (datasets, migrations): every request goes through the same decider as
 * `POST /events`, against the streams as they stand plus everything decided earlier in the same import, and the
 * accepted events are written in one transaction by the store's bulk import. All of it commits, or nothing.
 */
export class ImportPolicyEvents {
  constructor(
    private readonly store: EventStore,
    private readonly clock: Clock,
  ) {}

  /** `name` says which request a refusal is about (the import's numbering by default; a file's line numbers). */
  async handle(
    requests: readonly ImportRequest[],
    provenance: Provenance,
    name: (index: number) => string = (index) => `Event ${index + 1} of the import`,
  ): Promise<PolicyImportResult> {
    const ids = requests.flatMap((request) => (request.id ? [request.id.toLowerCase()] : []));
    const recorded = await this.store.getEvents(ids);
    const targets = await this.targets(requests, recorded);
    const states = await this.states(requests, targets);
    const pending = new Map<string, { expected: number; events: EventToAppend[] }>();
    let alreadyRecorded = 0;

    requests.forEach((request, index) => {
      const type = EVENT_FOR_COMMAND[request.command.type];
      const existing = request.id ? recorded.get(request.id.toLowerCase()) : undefined;
      if (existing) {
        if (!isSameRequest(existing, type, request.command)) throw new EventIdConflictError(existing.id);
        alreadyRecorded += 1;
        return;
      }
      const data = request.command.data as Record<string, unknown>;
      const streamId = isEntityEventType(type) ? streamIdFor(type, data) : targets.get(String(data.eventId).toLowerCase())?.streamId;
      if (!streamId) {
        throw at(name(index), new IllegalStateError('event_not_found', `Event ${String(data.eventId)} is not a recorded policy event.`));
      }
      const stream = states.get(streamId) as StreamState;
      let decided;
      try {
        decided = decide(request.command, { stream, chipRegistered: (chip) => registered(states.get(`chip-${chip}`)) });
      } catch (error) {
        throw at(name(index), error);
      }
      const events = toAppend(decided, request.id ?? uuidv7(this.clock.now().getTime()), request.causationId ? { ...provenance, causationId: request.causationId } : provenance);
      let next = stream;
      for (const event of events) {
        next = evolve(next, { id: event.id as string, type: event.type as PolicyEventType, data: event.data, effectiveAt: event.effectiveAt });
        if (event.id) targets.set(event.id, { streamId, type: event.type as PolicyEventType });
      }
      states.set(streamId, next);
      const entry = pending.get(streamId) ?? { expected: stream.version, events: [] };
      entry.events.push(...events);
      pending.set(streamId, entry);
    });

    if (pending.size === 0) {
      return { imported: 0, firstPosition: 0, lastPosition: 0, recordedAt: this.clock.now(), duplicate: true, alreadyRecorded };
    }
    const result = await this.store.import(
      [...pending].map(([streamId, entry]) => ({ streamId, expected: entry.expected === 0 ? 'no_stream' : entry.expected, events: entry.events })),
    );
    return { ...result, alreadyRecorded };
  }

  /** Where each corrected or retracted event lives: earlier in this import, or already in the store. */
  private async targets(requests: readonly ImportRequest[], recorded: Map<string, StoredEvent>): Promise<Map<string, TargetRef>> {
    const targets = new Map<string, TargetRef>();
    for (const event of recorded.values()) if (isPolicyEventType(event.type)) targets.set(event.id, { streamId: event.streamId, type: event.type });
    const inImport = new Set<string>();
    for (const request of requests) {
      const type = EVENT_FOR_COMMAND[request.command.type];
      if (request.id && isEntityEventType(type)) {
        targets.set(request.id.toLowerCase(), { streamId: streamIdFor(type, request.command.data as Record<string, unknown>), type });
        inImport.add(request.id.toLowerCase());
      }
    }
    const wanted = requests
      .filter((request) => !isEntityEventType(EVENT_FOR_COMMAND[request.command.type]))
      .map((request) => String((request.command.data as Record<string, unknown>).eventId).toLowerCase())
      .filter((id) => !targets.has(id));
    for (const event of (await this.store.getEvents(wanted)).values()) {
      if (isPolicyEventType(event.type)) targets.set(event.id, { streamId: event.streamId, type: event.type });
    }
    return targets;
  }

  /** The current state of every stream the import touches or consults (chip streams for registration checks). */
  private async states(requests: readonly ImportRequest[], targets: Map<string, TargetRef>): Promise<Map<string, StreamState>> {
    const streamIds = new Set<string>();
    for (const request of requests) {
      const type = EVENT_FOR_COMMAND[request.command.type];
      const data = request.command.data as Record<string, unknown>;
      const target = isEntityEventType(type) ? undefined : targets.get(String(data.eventId).toLowerCase());
      if (isEntityEventType(type)) streamIds.add(streamIdFor(type, data));
      else if (target) streamIds.add(target.streamId);
      const chips = target && type === 'EventCorrected' && data.data !== undefined ? chipsReferenced(target.type, data.data as Record<string, unknown>) : chipsReferenced(type, data);
      for (const chip of chips) streamIds.add(`chip-${chip}`);
    }
    const histories = await this.store.readStreams([...streamIds]);
    const states = new Map<string, StreamState>();
    for (const streamId of streamIds) {
      const history = (histories.get(streamId) ?? []).filter((event) => isPolicyEventType(event.type)).map(toRecorded);
      states.set(streamId, foldStream(history));
    }
    return states;
  }
}

function registered(state: StreamState | undefined): boolean {
  return !!state && state.entries.some((entry) => entry.type === 'ChipRegistered' && !entry.retracted);
}

/** Says which request of the import was refused, keeping the error's kind and code. */
function at(name: string, error: unknown): unknown {
  if (error instanceof Error) error.message = `${name}: ${error.message}`;
  return error;
}
