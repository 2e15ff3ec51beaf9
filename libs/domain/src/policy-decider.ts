import { ConflictError, IllegalStateError, ValidationError, assertNever } from './errors';
import {
  IDENTITY_FIELDS,
  eventDataSchemas,
  isPolicyEventType,
  parseInstant,
  type EventData,
  type PolicyEvent,
  type PolicyEventMetadata,
  type PolicyEventType,
} from './policy-events';
import { zodProblems } from './validation';

/** Commands: what a curator asks for. Each, if accepted, becomes the event of the same meaning. */
export const COMMAND_FOR_EVENT = {
  ChipRegistered: 'RegisterChip',
  ChipSpecsUpdated: 'UpdateChipSpecs',
  ControlImposed: 'ImposeControl',
  ControlAmended: 'AmendControl',
  ControlLifted: 'LiftControl',
  LicenseGranted: 'GrantLicense',
  LicenseAmended: 'AmendLicense',
  LicenseRevoked: 'RevokeLicense',
  AdvisoryIssued: 'IssueAdvisory',
  AdvisoryWithdrawn: 'WithdrawAdvisory',
  InvestigationOpened: 'OpenInvestigation',
  InvestigationConcluded: 'ConcludeInvestigation',
  EventRetracted: 'RetractEvent',
  EventCorrected: 'CorrectEvent',
} as const satisfies Record<PolicyEventType, string>;

type CommandFor<E extends PolicyEventType> = {
  readonly type: (typeof COMMAND_FOR_EVENT)[E];
  readonly data: EventData<E>;
  readonly metadata: PolicyEventMetadata;
};

export type PolicyCommand = { [E in PolicyEventType]: CommandFor<E> }[PolicyEventType];

export function commandFromEvent(event: PolicyEvent): PolicyCommand {
  return { type: COMMAND_FOR_EVENT[event.type], data: event.data, metadata: event.metadata } as PolicyCommand;
}

/** An event of a stream as the decider needs it: current data (corrections applied) and whether it still counts. */
export interface StreamEntry {
  readonly id: string;
  readonly type: PolicyEventType;
  readonly data: Readonly<Record<string, unknown>>;
  readonly effectiveAt: Date;
  readonly retracted: boolean;
  readonly original: { readonly data: Readonly<Record<string, unknown>>; readonly effectiveAt: Date };
  /** Corrections applied, oldest first. */
  readonly corrections: ReadonlyArray<{ readonly id: string; readonly data?: Record<string, unknown>; readonly effectiveAt?: Date }>;
}

export interface StreamState {
  readonly version: number;
  readonly entries: readonly StreamEntry[];
}

export const EMPTY_STREAM: StreamState = { version: 0, entries: [] };

export interface RecordedPolicyEvent {
  readonly id: string;
  readonly type: PolicyEventType;
  readonly data: Readonly<Record<string, unknown>>;
  readonly effectiveAt: Date;
}

/** What a chip looks like to the decider: whether it is registered (and not retracted). */
export type ChipLookup = (chip: string) => boolean;

export interface DecisionContext {
  readonly stream: StreamState;
  readonly chipRegistered: ChipLookup;
}

export function evolve(state: StreamState, event: RecordedPolicyEvent): StreamState {
  const version = state.version + 1;
  switch (event.type) {
    case 'EventRetracted': {
      const target = String(event.data.eventId);
      const entries = state.entries.map((entry) => (entry.id === target ? { ...entry, retracted: true } : entry));
      // Retracting a correction undoes it on the event it corrected.
      const retractedCorrection = state.entries.find((entry) => entry.id === target && entry.type === 'EventCorrected');
      const undone = retractedCorrection
        ? entries.map((entry) => withCorrections(entry, entry.corrections.filter((c) => c.id !== target)))
        : entries;
      return { version, entries: [...undone, plainEntry(event)] };
    }
    case 'EventCorrected': {
      const target = String(event.data.eventId);
      const correction = {
        id: event.id,
        data: event.data.data as Record<string, unknown> | undefined,
        effectiveAt: typeof event.data.effectiveAt === 'string' ? parseInstant(event.data.effectiveAt) : undefined,
      };
      return {
        version,
        entries: [
          ...state.entries.map((entry) => (entry.id === target ? withCorrections(entry, [...entry.corrections, correction]) : entry)),
          plainEntry(event),
        ],
      };
    }
    case 'ChipRegistered':
    case 'ChipSpecsUpdated':
    case 'ControlImposed':
    case 'ControlAmended':
    case 'ControlLifted':
    case 'LicenseGranted':
    case 'LicenseAmended':
    case 'LicenseRevoked':
    case 'AdvisoryIssued':
    case 'AdvisoryWithdrawn':
    case 'InvestigationOpened':
    case 'InvestigationConcluded':
      return { version, entries: [...state.entries, plainEntry(event)] };
    default:
      return assertNever(event.type, 'event type');
  }
}

export function foldStream(events: readonly RecordedPolicyEvent[]): StreamState {
  return events.reduce(evolve, EMPTY_STREAM);
}

function plainEntry(event: RecordedPolicyEvent): StreamEntry {
  return {
    id: event.id,
    type: event.type,
    data: event.data,
    effectiveAt: event.effectiveAt,
    retracted: false,
    original: { data: event.data, effectiveAt: event.effectiveAt },
    corrections: [],
  };
}

function withCorrections(entry: StreamEntry, corrections: StreamEntry['corrections']): StreamEntry {
  const latestData = [...corrections].reverse().find((c) => c.data !== undefined)?.data;
  const latestEffective = [...corrections].reverse().find((c) => c.effectiveAt !== undefined)?.effectiveAt;
  return {
    ...entry,
    corrections,
    data: latestData ?? entry.original.data,
    effectiveAt: latestEffective ?? entry.original.effectiveAt,
  };
}

/** The stream an entity event belongs to. Retractions and corrections go to the stream of the event they target. */
export function streamIdFor(type: Exclude<PolicyEventType, 'EventRetracted' | 'EventCorrected'>, data: Record<string, unknown>): string {
  switch (type) {
    case 'ChipRegistered':
    case 'ChipSpecsUpdated':
      return `chip-${String(data.chip)}`;
    case 'ControlImposed':
    case 'ControlAmended':
    case 'ControlLifted':
      return `measure-${String(data.measureId)}`;
    case 'LicenseGranted':
    case 'LicenseAmended':
    case 'LicenseRevoked':
      return `license-${String(data.licenseId)}`;
    case 'AdvisoryIssued':
    case 'AdvisoryWithdrawn':
      return `advisory-${String(data.advisoryId)}`;
    case 'InvestigationOpened':
    case 'InvestigationConcluded':
      return `investigation-${String(data.investigationId)}`;
    default:
      return assertNever(type, 'event type');
  }
}

/** Chips an event's data names (for checking they are registered). */
export function chipsReferenced(type: PolicyEventType, data: Readonly<Record<string, unknown>>): string[] {
  const list = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
  const scope = (data.scope ?? {}) as Record<string, unknown>;
  switch (type) {
    case 'ControlImposed':
    case 'ControlAmended':
      return [...list(scope.chips), ...list(scope.excludeChips)];
    case 'LicenseGranted':
    case 'LicenseAmended':
    case 'AdvisoryIssued':
      return list(data.chips);
    case 'InvestigationOpened':
      return list((data.subjects as Record<string, unknown> | undefined)?.chips);
    case 'ChipRegistered':
    case 'ChipSpecsUpdated':
    case 'ControlLifted':
    case 'LicenseRevoked':
    case 'AdvisoryWithdrawn':
    case 'InvestigationConcluded':
    case 'EventRetracted':
    case 'EventCorrected':
      return [];
    default:
      return assertNever(type, 'event type');
  }
}

/** decide(command, state) → events: accepts a command as the event it asks for, or says precisely why not. */
export function decide(command: PolicyCommand, context: DecisionContext): PolicyEvent[] {
  const { stream } = context;
  const live = stream.entries.filter((entry) => !entry.retracted && entry.type !== 'EventCorrected' && entry.type !== 'EventRetracted');
  const first = (type: PolicyEventType) => live.find((entry) => entry.type === type);
  const emit = <E extends PolicyEventType>(type: E, data: EventData<E>): PolicyEvent[] =>
    [{ type, data, metadata: command.metadata } as PolicyEvent];

  switch (command.type) {
    case 'RegisterChip': {
      if (first('ChipRegistered')) {
        throw new ConflictError('chip_already_registered', `Chip ${command.data.chip} is already registered.`, { chip: command.data.chip });
      }
      return emit('ChipRegistered', command.data);
    }
    case 'UpdateChipSpecs': {
      requireEntity(first('ChipRegistered'), 'chip_not_registered', `Chip ${command.data.chip} is not registered.`);
      return emit('ChipSpecsUpdated', command.data);
    }
    case 'ImposeControl': {
      if (first('ControlImposed')) {
        throw new ConflictError('measure_exists', `Measure ${command.data.measureId} was already imposed; amend or lift it instead.`, {
          measureId: command.data.measureId,
        });
      }
      requireRegisteredChips(command.data.scope.chips, 'data.scope.chips', context);
      requireRegisteredChips(command.data.scope.excludeChips, 'data.scope.excludeChips', context);
      return emit('ControlImposed', command.data);
    }
    case 'AmendControl':
    case 'LiftControl': {
      const imposed = requireEntity(first('ControlImposed'), 'measure_not_imposed', `Measure ${command.data.measureId} has not been imposed.`);
      if (first('ControlLifted')) {
        throw new IllegalStateError('measure_lifted', `Measure ${command.data.measureId} has been lifted; impose a new measure instead.`);
      }
      requireNotBefore(command.metadata.effectiveAt, imposed, 'the control was imposed');
      if (command.type === 'LiftControl') return emit('ControlLifted', command.data);
      requireRegisteredChips(command.data.scope?.chips, 'data.scope.chips', context);
      requireRegisteredChips(command.data.scope?.excludeChips, 'data.scope.excludeChips', context);
      return emit('ControlAmended', command.data);
    }
    case 'GrantLicense': {
      if (first('LicenseGranted')) {
        throw new ConflictError('license_exists', `Licence ${command.data.licenseId} was already granted; amend or revoke it instead.`);
      }
      requireRegisteredChips(command.data.chips, 'data.chips', context);
      requireExpiryAfter(command.data.expiresAt, command.metadata.effectiveAt);
      return emit('LicenseGranted', command.data);
    }
    case 'AmendLicense':
    case 'RevokeLicense': {
      const granted = requireEntity(first('LicenseGranted'), 'license_not_granted', `Licence ${command.data.licenseId} has not been granted.`);
      if (first('LicenseRevoked')) throw new IllegalStateError('license_revoked', `Licence ${command.data.licenseId} has been revoked.`);
      requireNotBefore(command.metadata.effectiveAt, granted, 'the licence was granted');
      if (command.type === 'RevokeLicense') return emit('LicenseRevoked', command.data);
      requireRegisteredChips(command.data.chips, 'data.chips', context);
      if (command.data.expiresAt) requireExpiryAfter(command.data.expiresAt, granted.effectiveAt);
      return emit('LicenseAmended', command.data);
    }
    case 'IssueAdvisory': {
      if (first('AdvisoryIssued')) throw new ConflictError('advisory_exists', `Advisory ${command.data.advisoryId} was already issued.`);
      requireRegisteredChips(command.data.chips, 'data.chips', context);
      return emit('AdvisoryIssued', command.data);
    }
    case 'WithdrawAdvisory': {
      const issued = requireEntity(first('AdvisoryIssued'), 'advisory_not_issued', `Advisory ${command.data.advisoryId} has not been issued.`);
      if (first('AdvisoryWithdrawn')) throw new IllegalStateError('advisory_withdrawn', `Advisory ${command.data.advisoryId} was already withdrawn.`);
      requireNotBefore(command.metadata.effectiveAt, issued, 'the advisory was issued');
      return emit('AdvisoryWithdrawn', command.data);
    }
    case 'OpenInvestigation': {
      if (first('InvestigationOpened')) {
        throw new ConflictError('investigation_exists', `Investigation ${command.data.investigationId} was already opened.`);
      }
      requireRegisteredChips(command.data.subjects.chips, 'data.subjects.chips', context);
      return emit('InvestigationOpened', command.data);
    }
    case 'ConcludeInvestigation': {
      const opened = requireEntity(
        first('InvestigationOpened'),
        'investigation_not_opened',
        `Investigation ${command.data.investigationId} has not been opened.`,
      );
      if (first('InvestigationConcluded')) {
        throw new IllegalStateError('investigation_concluded', `Investigation ${command.data.investigationId} was already concluded.`);
      }
      requireNotBefore(command.metadata.effectiveAt, opened, 'the investigation was opened');
      return emit('InvestigationConcluded', command.data);
    }
    case 'RetractEvent': {
      const target = requireTarget(stream, command.data.eventId);
      if (target.type === 'EventRetracted') {
        throw new IllegalStateError('cannot_retract_retraction', 'A retraction cannot be retracted; record the event again instead.');
      }
      return emit('EventRetracted', command.data);
    }
    case 'CorrectEvent': {
      const target = requireTarget(stream, command.data.eventId);
      if (target.type === 'EventRetracted' || target.type === 'EventCorrected') {
        throw new IllegalStateError('cannot_correct_correction', `A ${target.type} event cannot be corrected; correct the original event.`);
      }
      if (command.data.data !== undefined) {
        const parsed = eventDataSchemas[target.type].safeParse(command.data.data);
        if (!parsed.success) {
          const problems = zodProblems(parsed.error, 'data.data');
          throw new ValidationError('invalid_correction', `The corrected data is not valid ${target.type} data: ${problems[0]?.field}: ${problems[0]?.message}`, problems);
        }
        for (const field of IDENTITY_FIELDS[target.type]) {
          if ((parsed.data as Record<string, unknown>)[field] !== target.data[field]) {
            throw ValidationError.field(`data.data.${field}`, `a correction cannot change ${field}; retract the event and record a new one.`);
          }
        }
        requireRegisteredChips(chipsReferenced(target.type, parsed.data as Record<string, unknown>), 'data.data', context);
      }
      return emit('EventCorrected', command.data);
    }
    default:
      return assertNever(command, 'command');
  }
}

function requireEntity<T>(entry: T | undefined, code: string, message: string): T {
  if (!entry) throw new IllegalStateError(code, message);
  return entry;
}

function requireTarget(stream: StreamState, eventId: string): StreamEntry {
  const target = stream.entries.find((entry) => entry.id === eventId.toLowerCase());
  if (!target) throw new IllegalStateError('event_not_found', `Event ${eventId} is not a recorded policy event.`);
  if (target.retracted) throw new IllegalStateError('event_retracted', `Event ${eventId} has already been retracted.`);
  return target;
}

function requireNotBefore(effectiveAt: Date, origin: StreamEntry, what: string): void {
  if (effectiveAt.getTime() < origin.effectiveAt.getTime()) {
    throw ValidationError.field('effectiveAt', `must not be before ${origin.effectiveAt.toISOString()}, when ${what}.`);
  }
}

function requireExpiryAfter(expiresAt: string | null | undefined, effectiveAt: Date): void {
  if (!expiresAt) return;
  const expiry = parseInstant(expiresAt);
  if (expiry && expiry.getTime() <= effectiveAt.getTime()) {
    throw ValidationError.field('data.expiresAt', 'must be after the licence takes effect.');
  }
}

function requireRegisteredChips(chips: readonly string[] | undefined, field: string, context: DecisionContext): void {
  const index = (chips ?? []).findIndex((chip) => !context.chipRegistered(chip));
  if (index >= 0) {
    throw ValidationError.field(`${field}.${index}`, `chip ${chips![index]} is not registered; register it first.`, 'unknown_chip');
  }
}

export function isEntityEventType(type: string): type is Exclude<PolicyEventType, 'EventRetracted' | 'EventCorrected'> {
  return isPolicyEventType(type) && type !== 'EventRetracted' && type !== 'EventCorrected';
}
