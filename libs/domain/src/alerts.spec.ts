import {
  MAX_ATTEMPTS,
  changeAnswer,
  referenceStretch,
  groupDigest,
  matchesFilters,
  mayMatchStatusChangeOf,
  nextRetryDelay,
  summarizeStatusChange,
  type AlertSubject,
  type TimelineStretch,
} from './alerts';
import type { StatusAnswer } from './status';

const subject: AlertSubject = {
  kind: 'status_change',
  chips: ['nvidia-h20'],
  bands: ['none'],
  destinations: ['CN'],
  authorities: ['US-BIS'],
  eventTypes: ['ControlImposed'],
};

describe('matching alerts to subscriptions', () => {
  it('matches status changes by default, and every filter that is set must be met', () => {
    expect(matchesFilters({}, subject)).toBe(true);
    expect(matchesFilters({ chips: ['nvidia-h20', 'amd-mi308'], destinations: ['CN'] }, subject)).toBe(true);
    expect(matchesFilters({ chips: ['amd-mi308'] }, subject)).toBe(false);
    expect(matchesFilters({ destinations: ['HK'] }, subject)).toBe(false);
    expect(matchesFilters({ authorities: ['CN-CAC'] }, subject)).toBe(false);
    expect(matchesFilters({ eccnBands: ['3A090.a'] }, subject)).toBe(false);
    expect(matchesFilters({ eventTypes: ['ControlImposed'] }, subject)).toBe(true);
  });

  it('skips a chip only when no status change of it could meet the filters', () => {
    const filterSets = [
      {}, { chips: ['nvidia-h20'] }, { chips: ['amd-mi308'] }, { include: ['events' as const] }, { include: ['events' as const, 'status_changes' as const], chips: ['nvidia-h20'] },
      { destinations: ['HK'] }, { eccnBands: ['3A090.b' as const] }, { authorities: ['US-BIS'], chips: ['amd-mi308', 'nvidia-h20'] },
    ];
    const subjects: AlertSubject[] = ['nvidia-h20', 'amd-mi308', 'huawei-910b'].flatMap((chip) =>
      [['CN'], ['HK'], []].flatMap((destinations) =>
        [['3A090.a'], ['3A090.b']].map((bands) => ({ ...subject, kind: 'status_change' as const, chips: [chip], destinations, bands })),
      ),
    );
    let matched = 0;
    for (const filters of filterSets) {
      for (const candidate of subjects) {
        // Never skips what could match: whatever matches, was not skipped.
        if (matchesFilters(filters, candidate)) {
          matched += 1;
          expect({ filters, chip: candidate.chips[0], may: mayMatchStatusChangeOf(filters, candidate.chips[0] as string) }).toEqual({ filters, chip: candidate.chips[0], may: true });
        }
      }
    }
    expect(matched).toBeGreaterThan(20);
    expect(mayMatchStatusChangeOf({ chips: ['amd-mi308'] }, 'nvidia-h20')).toBe(false);
    expect(mayMatchStatusChangeOf({ include: ['events'] }, 'nvidia-h20')).toBe(false);
    expect(mayMatchStatusChangeOf({ destinations: ['HK'] }, 'nvidia-h20')).toBe(true);
  });

  it('sends recorded events only to subscriptions that ask for them', () => {
    const event: AlertSubject = { ...subject, kind: 'event' };
    expect(matchesFilters({}, event)).toBe(false);
    expect(matchesFilters({ include: ['events'] }, event)).toBe(true);
    expect(matchesFilters({ include: ['events'] }, subject)).toBe(false);
    expect(matchesFilters({ include: ['events', 'status_changes'] }, subject)).toBe(true);
  });
});

describe('the retry schedule', () => {
  it('waits 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, then gives up after eight attempts', () => {
    const failure = { kind: 'http' as const, status: 500 };
    const delays = Array.from({ length: MAX_ATTEMPTS }, (_, i) => nextRetryDelay(i + 1, failure, 0.5));
    expect(delays).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000, null]);
  });

  it('jitters by at most 20 % either way', () => {
    expect(nextRetryDelay(2, { kind: 'http', status: 500 }, 0)).toBe(240_000);
    expect(nextRetryDelay(2, { kind: 'http', status: 500 }, 0.999999)).toBe(359_999 + 1);
  });

  it('waits at least 60 s after a 429 or a timeout, longer if Retry-After says so', () => {
    expect(nextRetryDelay(1, { kind: 'rate_limited' }, 0.5)).toBe(60_000);
    expect(nextRetryDelay(1, { kind: 'rate_limited', retryAfterMs: 120_000 }, 0.5)).toBe(120_000);
    expect(nextRetryDelay(1, { kind: 'timeout' }, 0.5)).toBe(60_000);
    expect(nextRetryDelay(3, { kind: 'timeout' }, 0.5)).toBe(1_800_000);
  });

  it('gives up at once on 410 Gone', () => {
    expect(nextRetryDelay(1, { kind: 'gone' }, 0.5)).toBeNull();
  });
});

function answer(exportStatus: string, importStatus = 'open', conditions: unknown[] = []): StatusAnswer {
  return {
    classification: { tpp: 2368, performanceDensity: 2.91, band: 'none', reason: 'x' },
    export: { status: exportStatus, since: null, licensePolicy: null, conditions, basis: [], warnings: [] },
    import: { status: importStatus, since: null, basis: [] },
    investigations: [],
  } as unknown as StatusAnswer;
}
const stretch = (validFrom: string | null, validTo: string | null, a: StatusAnswer): TimelineStretch => ({ validFrom, validTo, answer: a });

describe('summarising a status change', () => {
  const knownAt = new Date('2025-06-01T00:00:00Z');

  it('reports what changed now and over which periods', () => {
    const summary = summarizeStatusChange({
      chip: 'h20',
      destination: 'CN',
      knownAt,
      before: [stretch(null, null, answer('unrestricted'))],
      after: [stretch(null, '2025-04-09T00:00:00.000Z', answer('unrestricted')), stretch('2025-04-09T00:00:00.000Z', null, answer('license_required'))],
    })!;
    expect(summary.now).toMatchObject({ changed: true, before: { export: { status: 'unrestricted' } }, after: { export: { status: 'license_required' } } });
    expect(summary.periods).toEqual([{ validFrom: '2025-04-09T00:00:00.000Z', validTo: null, before: expect.anything(), after: expect.anything() }]);
    expect(summary.upcoming).toEqual([]);
  });

  it('reports a change effective in the past only (a correction) and lists future changes for reminders', () => {
    const past = summarizeStatusChange({
      chip: 'h20',
      destination: 'CN',
      knownAt,
      before: [stretch(null, '2025-04-09T00:00:00.000Z', answer('unrestricted')), stretch('2025-04-09T00:00:00.000Z', null, answer('license_required'))],
      after: [stretch(null, '2025-03-01T00:00:00.000Z', answer('unrestricted')), stretch('2025-03-01T00:00:00.000Z', null, answer('license_required'))],
    })!;
    expect(past.now.changed).toBe(false);
    expect(past.periods).toMatchObject([{ validFrom: '2025-03-01T00:00:00.000Z', validTo: '2025-04-09T00:00:00.000Z' }]);
    const future = summarizeStatusChange({
      chip: 'h20',
      destination: 'CN',
      knownAt,
      before: [stretch(null, null, answer('unrestricted'))],
      after: [stretch(null, '2025-07-01T00:00:00.000Z', answer('unrestricted')), stretch('2025-07-01T00:00:00.000Z', null, answer('prohibited'))],
    })!;
    expect(future.now.changed).toBe(false);
    expect(future.upcoming).toEqual([{ effectiveAt: '2025-07-01T00:00:00.000Z', status: expect.objectContaining({ export: expect.objectContaining({ status: 'prohibited' }) }) }]);
  });

  it('is silent when only details changed, and loud when conditions did', () => {
    expect(summarizeStatusChange({ chip: 'h20', destination: 'CN', knownAt, before: [stretch(null, null, answer('licensed'))], after: [stretch(null, null, answer('licensed'))] })).toBeUndefined();
    expect(
      summarizeStatusChange({ chip: 'h20', destination: 'CN', knownAt, before: [stretch(null, null, answer('licensed'))], after: [stretch(null, null, answer('licensed', 'open', [{ type: 'revenue_share', percent: 15 }]))] }),
    ).toBeDefined();
  });
});

describe('recording a status change lean', () => {
  const knownAt = new Date('2025-06-01T00:00:00Z');
  const cited = (status: string, eventId: string): StatusAnswer => {
    const base = answer(status);
    const basis = [{ eventId, type: 'ControlImposed', effectiveAt: '2025-01-01T00:00:00.000Z', recordedAt: '2025-01-01T00:00:00.000Z', authority: 'US-BIS', title: eventId, source: null }];
    return { ...base, export: { ...base.export, basis }, import: { ...base.import, basis } } as unknown as StatusAnswer;
  };
  /** What the policy projection stores: only the reference stretch of each side keeps its basis. */
  const lean = (stretches: TimelineStretch[], side: 'before' | 'after') => {
    const reference = referenceStretch(stretches, knownAt, side);
    return stretches.map((s) => ({ ...s, answer: changeAnswer(s.answer as StatusAnswer, s === reference) }));
  };
  const cases: Array<[string, TimelineStretch[], TimelineStretch[]]> = [
    ['a stretch in force when it became known', [stretch(null, null, cited('unrestricted', 'e0'))], [stretch(null, '2025-04-09T00:00:00.000Z', cited('unrestricted', 'e1')), stretch('2025-04-09T00:00:00.000Z', '2025-09-01T00:00:00.000Z', cited('license_required', 'e2')), stretch('2025-09-01T00:00:00.000Z', null, cited('prohibited', 'e3'))]],
    ['only future stretches after', [stretch(null, null, cited('unrestricted', 'e0'))], [stretch('2025-07-01T00:00:00.000Z', '2025-08-01T00:00:00.000Z', cited('license_required', 'e1')), stretch('2025-08-01T00:00:00.000Z', null, cited('prohibited', 'e2'))]],
    ['nothing after (the chip was withdrawn)', [stretch(null, '2025-04-09T00:00:00.000Z', cited('unrestricted', 'e0')), stretch('2025-04-09T00:00:00.000Z', null, cited('license_required', 'e1'))], []],
  ];
  it.each(cases)('summarises as the whole answers would, with %s', (_, before, after) => {
    const full = summarizeStatusChange({ chip: 'h20', destination: 'CN', knownAt, before, after });
    expect(full?.basis.length).toBeGreaterThan(0);
    expect(summarizeStatusChange({ chip: 'h20', destination: 'CN', knownAt, before: lean(before, 'before'), after: lean(after, 'after') })).toEqual(full);
  });
});

describe('digests', () => {
  it('group the day by chip and destination, other alerts by type', () => {
    const digest = groupDigest([
      { type: 'chip.status.changed', occurredAt: '2025-06-01T10:00:00Z', data: { chip: 'h20', destination: 'CN' } },
      { type: 'policy.event.recorded', occurredAt: '2025-06-01T09:00:00Z', data: { type: 'AdvisoryIssued' } },
      { type: 'chip.status.changed', occurredAt: '2025-06-01T08:00:00Z', data: { chip: 'h20', destination: 'CN' } },
      { type: 'chip.status.changed', occurredAt: '2025-06-01T11:00:00Z', data: { chip: 'a800', destination: 'CN' } },
    ]);
    expect(digest.total).toBe(4);
    expect(digest.statusChanges.map((g) => [g.chip, g.destination, g.changes.map((c) => c.occurredAt)])).toEqual([
      ['a800', 'CN', ['2025-06-01T11:00:00Z']],
      ['h20', 'CN', ['2025-06-01T08:00:00Z', '2025-06-01T10:00:00Z']],
    ]);
    expect(digest.otherAlerts).toEqual([{ type: 'policy.event.recorded', entries: [expect.objectContaining({ type: 'policy.event.recorded' })] }]);
  });
});
