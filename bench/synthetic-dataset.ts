import { createHash } from 'node:crypto';

/**
 * A large dataset shaped like the curated one: chips, and for each the controls, licences, advisories,
 * investigations, corrections and retractions that change its status, each with a source. Every line is a body
 * `POST /api/v1/events` accepts, in an order the decider accepts (registrations before what names them).
 * A few band-wide controls come first, as in reality (October 2022 and 2023 rules), then chip-specific history.
 */
const VENDORS = ['NVIDIA', 'AMD', 'Intel', 'Huawei', 'Cambricon'];
const DESTINATIONS = ['CN', 'HK', 'MO', 'RU', 'BY', 'IR', 'KP', 'VN', 'SA', 'AE', 'IN', 'MY'];
const PER_CHIP = 25;

export function stableId(text: string): string {
  const hex = createHash('sha256').update(text).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function day(offset: number): string {
  return new Date(Date.UTC(2022, 9, 7) + offset * 86_400_000).toISOString().slice(0, 10);
}

function source(label: string, published: string) {
  return { url: `https://www.federalregister.gov/d/${label}`, title: `Rule ${label}: implementation of export controls on advanced computing items`, publishedAt: published, confidence: 'high' };
}

/** The events for one chip, as request bodies. */
function chipHistory(index: number, prefix: string): Array<Record<string, unknown>> {
  const chip = `${prefix}-chip-${index}`;
  const vendor = VENDORS[index % VENDORS.length] as string;
  const start = index % 700;
  const destinations = (n: number) => DESTINATIONS.slice(n % 4, (n % 4) + 3 + (n % 5));
  const events: Array<Record<string, unknown>> = [];
  const push = (type: string, data: Record<string, unknown>, offset: number, extra: Record<string, unknown> = {}) => {
    const id = stableId(`${prefix}:${chip}:${events.length}`);
    events.push({ id, type, data, effectiveAt: day(start + offset), source: source(`${chip}-${events.length}`, day(start + offset)), ...extra });
    return id;
  };
  push('ChipRegistered', { chip, vendor, model: `Accelerator ${index}`, datacenter: index % 3 !== 0, specs: { denseTops: { fp16: 100 + (index % 900), int8: 200 + (index % 1800) }, dieAreaMm2: 400 + (index % 400) } }, 0);
  push('ChipSpecsUpdated', { chip, specs: { denseTops: { fp16: 120 + (index % 900) }, dieAreaMm2: 420 + (index % 400) } }, 10);
  const measure = `m-${chip}`;
  const imposed = push('ControlImposed', { measureId: measure, authority: 'US-BIS', direction: 'export', requirement: 'license_required', licensePolicy: 'presumption_of_denial', scope: { chips: [chip] }, destinations: destinations(index), title: `Licence requirement for ${chip}`, notes: 'Applies to shipments and reexports; see the rule for the full list of conditions and exceptions.' }, 20);
  push('ControlAmended', { measureId: measure, destinations: destinations(index + 1), title: `Licence requirement for ${chip}, widened` }, 60);
  push('EventCorrected', { eventId: imposed, effectiveAt: day(start + 21), reason: 'The rule took effect a day later than first reported.' }, 61);
  const license = `l-${chip}`;
  push('LicenseGranted', { licenseId: license, authority: 'US-BIS', holder: vendor, chips: [chip], destinations: ['CN'], conditions: [{ type: 'revenue_share', percent: 15 }], title: `Licence for ${chip} to CN` }, 90);
  push('LicenseAmended', { licenseId: license, conditions: [{ type: 'revenue_share', percent: 20 }] }, 120);
  const advisory = `a-${chip}`;
  push('AdvisoryIssued', { advisoryId: advisory, authority: 'CN-CAC', level: 'discouraged', chips: [chip], destinations: ['CN'], title: `Guidance discouraging purchases of ${chip}` }, 130);
  const investigation = `i-${chip}`;
  push('InvestigationOpened', { investigationId: investigation, authority: 'CN-SAMR', kind: 'security_review', subjects: { chips: [chip] }, title: `Security review of ${chip}` }, 140);
  push('LicenseRevoked', { licenseId: license, reason: 'Conditions not met.' }, 180);
  push('AdvisoryWithdrawn', { advisoryId: advisory, reason: 'Superseded.' }, 200);
  push('InvestigationConcluded', { investigationId: investigation, outcome: 'closed without findings' }, 220);
  // Later rounds: a second measure per chip with amendments, and a second licence, some retracted.
  for (let round = 0; events.length < PER_CHIP - 1; round += 1) {
    const second = `m2-${chip}-${round}`;
    const id = push('ControlImposed', { measureId: second, authority: 'US-BIS', direction: 'export', requirement: round % 2 ? 'prohibited' : 'license_required', scope: { chips: [chip] }, destinations: destinations(index + round + 2), title: `Round ${round} rule for ${chip}` }, 240 + round * 30);
    if (events.length < PER_CHIP - 1) push('ControlAmended', { measureId: second, licensePolicy: 'case_by_case' }, 250 + round * 30);
    if (events.length < PER_CHIP - 1 && round % 3 === 2) push('EventRetracted', { eventId: id, reason: 'Recorded from a misread notice.' }, 255 + round * 30);
    else if (events.length < PER_CHIP - 1) push('ControlLifted', { measureId: second, reason: 'Rescinded.' }, 260 + round * 30);
  }
  push('LicenseGranted', { licenseId: `l2-${chip}`, authority: 'US-BIS', holder: vendor, chips: [chip], destinations: ['CN', 'HK'], title: `Second licence for ${chip}` }, 400);
  return events;
}

/** About `total` request bodies (whole chips), lazily, so a million never sit in memory at once. */
export function* syntheticDataset(total: number, prefix = 'bench'): Generator<Record<string, unknown>> {
  yield {
    id: stableId(`${prefix}:band-rule-2022`),
    type: 'ControlImposed',
    data: { measureId: `${prefix}-band-2022`, authority: 'US-BIS', direction: 'export', requirement: 'license_required', licensePolicy: 'presumption_of_denial', scope: { eccnBands: ['3A090.a'], datacenterOnly: true }, destinations: ['CN', 'HK', 'MO', 'RU'], title: 'Advanced computing and semiconductor manufacturing items (band rule)' },
    effectiveAt: '2022-10-07',
    source: source(`${prefix}-2022-21658`, '2022-10-13'),
  };
  const chips = Math.max(1, Math.round((total - 1) / PER_CHIP));
  for (let index = 0; index < chips; index += 1) yield* chipHistory(index, prefix);
}

export const EVENTS_PER_CHIP = PER_CHIP;
