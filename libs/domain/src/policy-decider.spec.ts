import { ConflictError, IllegalStateError, ValidationError } from './errors';
import { decide, foldStream, type PolicyCommand, type RecordedPolicyEvent } from './policy-decider';
import type { EventData, PolicyEventType } from './policy-events';
import { parseRecordEventRequest } from './record-event-request';

const source = { url: 'https://www.federalregister.gov/d/2023-23055', title: 'AC/S IFR', publishedAt: '2023-10-25' };
const at = (date: string) => new Date(`${date}T00:00:00Z`);
let seq = 0;
const id = () => `00000000-0000-7000-8000-${String(++seq).padStart(12, '0')}`;

function recorded<T extends PolicyEventType>(type: T, data: EventData<T>, effective = '2023-11-17', eventId = id()): RecordedPolicyEvent {
  return { id: eventId, type, data: data as Record<string, unknown>, effectiveAt: at(effective) };
}

function command(type: PolicyCommand['type'], data: unknown, effective = '2023-11-17'): PolicyCommand {
  return { type, data, metadata: { effectiveAt: at(effective), source } } as PolicyCommand;
}

const registered = new Set(['nvidia-h20', 'nvidia-a800']);

/** given (events in the stream) → when (command) → then (events) | thenThrows (error). */
function given(...events: RecordedPolicyEvent[]) {
  const stream = foldStream(events);
  return {
    when(cmd: PolicyCommand) {
      const run = () => decide(cmd, { stream, chipRegistered: (chip) => registered.has(chip) });
      return {
        then(expected: Array<{ type: string; data?: Record<string, unknown> }>) {
          expect(run()).toEqual(expected.map((event) => expect.objectContaining(event)));
        },
        thenThrows(errorClass: new (...args: never[]) => Error, code: string, message?: RegExp) {
          let error: unknown;
          try {
            run();
          } catch (caught) {
            error = caught;
          }
          expect(error).toBeInstanceOf(errorClass);
          expect(error).toMatchObject({ code });
          if (message) expect((error as Error).message).toMatch(message);
        },
      };
    },
  };
}

const h20Control = {
  measureId: 'us-h20',
  authority: 'US-BIS',
  direction: 'export' as const,
  requirement: 'license_required' as const,
  scope: { chips: ['nvidia-h20'] },
  destinations: ['CN', 'HK', 'MO'],
  title: 'H20 is-informed letter',
};

describe('chips', () => {
  const h20 = { chip: 'nvidia-h20', vendor: 'NVIDIA', model: 'H20', datacenter: true, specs: { denseTops: { fp16: 148 } } };

  it('registers a new chip', () => {
    given().when(command('RegisterChip', h20)).then([{ type: 'ChipRegistered', data: h20 }]);
  });
  it('refuses to register a chip twice', () => {
    given(recorded('ChipRegistered', h20)).when(command('RegisterChip', h20)).thenThrows(ConflictError, 'chip_already_registered');
  });
  it('updates the specs of a registered chip only', () => {
    const update = { chip: 'nvidia-h20', specs: { tpp: 2368, dieAreaMm2: 814 } };
    given().when(command('UpdateChipSpecs', update)).thenThrows(IllegalStateError, 'chip_not_registered');
    given(recorded('ChipRegistered', h20)).when(command('UpdateChipSpecs', update)).then([{ type: 'ChipSpecsUpdated', data: update }]);
  });
  it('allows registering again once the registration was retracted', () => {
    const registration = recorded('ChipRegistered', h20);
    given(registration, recorded('EventRetracted', { eventId: registration.id, reason: 'wrong chip' }))
      .when(command('RegisterChip', h20))
      .then([{ type: 'ChipRegistered' }]);
  });
});

describe('controls', () => {
  it('imposes a control on registered chips', () => {
    given().when(command('ImposeControl', h20Control, '2025-04-09')).then([{ type: 'ControlImposed', data: h20Control }]);
  });
  it('refuses a control naming a chip nobody registered, naming the field', () => {
    given()
      .when(command('ImposeControl', { ...h20Control, scope: { chips: ['nvidia-h20', 'nvidia-h2o'] } }))
      .thenThrows(ValidationError, 'unknown_chip', /^data\.scope\.chips\.1: chip nvidia-h2o is not registered/);
  });
  it('refuses to impose one measure twice', () => {
    given(recorded('ControlImposed', h20Control)).when(command('ImposeControl', h20Control)).thenThrows(ConflictError, 'measure_exists');
  });
  it('amends and lifts only an imposed, unlifted measure, never before it took effect', () => {
    const imposed = recorded('ControlImposed', h20Control, '2025-04-09');
    const amend = { measureId: 'us-h20', licensePolicy: 'presumption_of_approval' as const };
    given().when(command('AmendControl', amend)).thenThrows(IllegalStateError, 'measure_not_imposed');
    given(imposed).when(command('AmendControl', amend, '2025-07-14')).then([{ type: 'ControlAmended', data: amend }]);
    given(imposed).when(command('LiftControl', { measureId: 'us-h20' }, '2025-04-08')).thenThrows(ValidationError, 'invalid_field', /^effectiveAt/);
    given(imposed).when(command('LiftControl', { measureId: 'us-h20' }, '2026-01-01')).then([{ type: 'ControlLifted' }]);
    given(imposed, recorded('ControlLifted', { measureId: 'us-h20' }, '2026-01-01'))
      .when(command('LiftControl', { measureId: 'us-h20' }, '2026-02-01'))
      .thenThrows(IllegalStateError, 'measure_lifted');
  });
});

describe('licences', () => {
  const licence = { licenseId: 'h20-nvidia', authority: 'US-BIS', holder: 'NVIDIA', chips: ['nvidia-h20'], destinations: ['CN'] };
  it('grants, amends and revokes', () => {
    const granted = recorded('LicenseGranted', licence, '2025-08-08');
    given().when(command('GrantLicense', licence, '2025-08-08')).then([{ type: 'LicenseGranted' }]);
    given(granted)
      .when(command('AmendLicense', { licenseId: 'h20-nvidia', conditions: [{ type: 'revenue_share', percent: 15 }] }, '2025-08-10'))
      .then([{ type: 'LicenseAmended' }]);
    given(granted).when(command('RevokeLicense', { licenseId: 'h20-nvidia' }, '2025-09-01')).then([{ type: 'LicenseRevoked' }]);
    given(granted, recorded('LicenseRevoked', { licenseId: 'h20-nvidia' }, '2025-09-01'))
      .when(command('AmendLicense', { licenseId: 'h20-nvidia', holder: 'X' }, '2025-10-01'))
      .thenThrows(IllegalStateError, 'license_revoked');
  });
  it('refuses an expiry that is not after the grant', () => {
    given()
      .when(command('GrantLicense', { ...licence, expiresAt: '2025-08-01' }, '2025-08-08'))
      .thenThrows(ValidationError, 'invalid_field', /^data\.expiresAt/);
  });
  it('refuses to revoke a licence never granted', () => {
    given().when(command('RevokeLicense', { licenseId: 'nope' })).thenThrows(IllegalStateError, 'license_not_granted');
  });
});

describe('advisories and investigations', () => {
  const advisory = { advisoryId: 'cn-h20', authority: 'CN-CAC', level: 'discouraged' as const, chips: ['nvidia-h20'], destinations: ['CN'], title: 'Avoid H20' };
  it('issues and withdraws an advisory once each', () => {
    const issued = recorded('AdvisoryIssued', advisory, '2025-08-12');
    given().when(command('IssueAdvisory', advisory, '2025-08-12')).then([{ type: 'AdvisoryIssued' }]);
    given(issued).when(command('IssueAdvisory', advisory)).thenThrows(ConflictError, 'advisory_exists');
    given(issued).when(command('WithdrawAdvisory', { advisoryId: 'cn-h20' }, '2025-12-01')).then([{ type: 'AdvisoryWithdrawn' }]);
    given(issued, recorded('AdvisoryWithdrawn', { advisoryId: 'cn-h20' }, '2025-12-01'))
      .when(command('WithdrawAdvisory', { advisoryId: 'cn-h20' }, '2025-12-02'))
      .thenThrows(IllegalStateError, 'advisory_withdrawn');
  });
  it('opens and concludes an investigation', () => {
    const opened = { investigationId: 'samr-nvidia', authority: 'CN-SAMR', kind: 'antitrust' as const, subjects: { companies: ['NVIDIA'] }, title: 'Probe' };
    given().when(command('OpenInvestigation', opened, '2024-12-09')).then([{ type: 'InvestigationOpened' }]);
    given().when(command('ConcludeInvestigation', { investigationId: 'samr-nvidia' })).thenThrows(IllegalStateError, 'investigation_not_opened');
    given(recorded('InvestigationOpened', opened, '2024-12-09'))
      .when(command('ConcludeInvestigation', { investigationId: 'samr-nvidia', outcome: 'fined' }, '2026-01-01'))
      .then([{ type: 'InvestigationConcluded' }]);
  });
});

describe('retractions and corrections', () => {
  const imposed = recorded('ControlImposed', h20Control, '2025-04-09');

  it('retracts a recorded event once', () => {
    given(imposed).when(command('RetractEvent', { eventId: imposed.id, reason: 'duplicate' })).then([{ type: 'EventRetracted' }]);
    given(imposed, recorded('EventRetracted', { eventId: imposed.id, reason: 'duplicate' }))
      .when(command('RetractEvent', { eventId: imposed.id, reason: 'again' }))
      .thenThrows(IllegalStateError, 'event_retracted');
    given().when(command('RetractEvent', { eventId: id(), reason: 'x' })).thenThrows(IllegalStateError, 'event_not_found');
  });

  it('refuses to retract a retraction', () => {
    const retraction = recorded('EventRetracted', { eventId: imposed.id, reason: 'duplicate' });
    given(imposed, retraction)
      .when(command('RetractEvent', { eventId: retraction.id, reason: 'undo' }))
      .thenThrows(IllegalStateError, 'cannot_retract_retraction');
  });

  it('corrects data with valid data of the same type, keeping its identity', () => {
    given(imposed)
      .when(command('CorrectEvent', { eventId: imposed.id, data: { ...h20Control, destinations: ['CN', 'HK', 'MO', 'RU'] }, reason: 'add RU' }))
      .then([{ type: 'EventCorrected' }]);
    given(imposed)
      .when(command('CorrectEvent', { eventId: imposed.id, data: { ...h20Control, destinations: ['China'] }, reason: 'x' }))
      .thenThrows(ValidationError, 'invalid_correction', /data\.data\.destinations\.0/);
    given(imposed)
      .when(command('CorrectEvent', { eventId: imposed.id, data: { ...h20Control, measureId: 'other' }, reason: 'x' }))
      .thenThrows(ValidationError, 'invalid_field', /cannot change measureId/);
  });

  it('applies a correction to the stream and undoes it when the correction is retracted', () => {
    const correction = recorded('EventCorrected', { eventId: imposed.id, effectiveAt: '2025-04-10', reason: 'date' });
    const corrected = foldStream([imposed, correction]);
    expect(corrected.entries[0]!.effectiveAt).toEqual(at('2025-04-10'));
    const undone = foldStream([imposed, correction, recorded('EventRetracted', { eventId: correction.id, reason: 'was right' })]);
    expect(undone.entries[0]!.effectiveAt).toEqual(at('2025-04-09'));
  });

  it('refuses to correct a correction', () => {
    const correction = recorded('EventCorrected', { eventId: imposed.id, effectiveAt: '2025-04-10', reason: 'date' });
    given(imposed, correction)
      .when(command('CorrectEvent', { eventId: correction.id, effectiveAt: '2025-04-11', reason: 'x' }))
      .thenThrows(IllegalStateError, 'cannot_correct_correction');
  });
});

describe('parsing a POST /events body', () => {
  const now = new Date('2026-11-28T12:00:00Z');
  const body = { type: 'ControlImposed', data: h20Control, effectiveAt: '2025-04-09', source };

  it('turns a valid body into the command it asks for', () => {
    const parsed = parseRecordEventRequest(body, now);
    expect(parsed.command).toMatchObject({ type: 'ImposeControl', data: h20Control, metadata: { effectiveAt: at('2025-04-09') } });
  });

  it.each([
    [{ ...body, type: 'ControlImposd' }, 'unknown_event_type', /^type: "ControlImposd" is not an event type/],
    [{ ...body, effectiveAt: undefined }, 'invalid_field', /^effectiveAt: is required/],
    [{ ...body, effectiveAt: '2025-02-30' }, 'invalid_field', /^effectiveAt: must be a date/],
    [{ ...body, effectiveAt: '9 April 2025' }, 'invalid_field', /^effectiveAt: must be a date/],
    [{ ...body, data: { ...h20Control, destinations: ['CN', 'XX'] } }, 'invalid_field', /^data\.destinations\.1: must be an ISO 3166-1 alpha-2/],
    [{ ...body, data: { ...h20Control, requirement: 'banned' } }, 'invalid_field', /^data\.requirement:/],
    [{ ...body, data: { ...h20Control, colour: 'red' } }, 'invalid_field', /^data: unknown field colour/],
    [{ ...body, source: { ...source, url: 'javascript:alert(1)' } }, 'invalid_field', /^source\.url: must be an http\(s\) URL/],
    [{ ...body, id: 'abc' }, 'invalid_field', /^id: must be a UUID/],
    [{ ...body, data: { ...h20Control, scope: {} } }, 'invalid_field', /^data\.scope: scope must name chips, ECCN bands or both/],
    [{ ...body, data: undefined }, 'invalid_field', /^data: is required/],
    [{ ...body, data: [h20Control] }, 'invalid_field', /^data: must be an object with the fields of the event type/],
    [{ ...body, data: 'ControlImposed' }, 'invalid_field', /^data: must be an object/],
    [{ ...body, data: null }, 'invalid_field', /^data: must be an object/],
  ])('refuses a bad body naming the field (%#)', (input, code, message) => {
    let error: unknown;
    try {
      parseRecordEventRequest(input, now);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ code });
    expect((error as Error).message).toMatch(message);
  });

  it('lets retractions and corrections default their effective time to now', () => {
    const parsed = parseRecordEventRequest({ type: 'EventRetracted', data: { eventId: id(), reason: 'x' }, source }, now);
    expect(parsed.command.metadata.effectiveAt).toEqual(now);
  });
});
