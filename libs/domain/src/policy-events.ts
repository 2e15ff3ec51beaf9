import { z } from 'zod';
import { ANY_DESTINATION, isCountry } from './countries';
import { PRECISION_BITS } from './classification';

/**
 * The public contract of policy events: each type's `data`, validated the same way by the API and the admin UI.
 * Field names are stable; new optional fields may be added.
 */

export const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
export const IDENTIFIER = /^[a-z0-9][a-z0-9._-]{0,99}$/;
export const AUTHORITY = /^[A-Z]{2}-[A-Z0-9]{2,20}$/;

const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);
export const chipSlug = z.string().max(80, 'must be at most 80 characters').regex(SLUG, 'must be a lowercase slug such as nvidia-h20');
const identifier = (what: string) =>
  z.string().regex(IDENTIFIER, `${what} must be 1-100 lowercase letters, digits, ".", "_" or "-", starting with a letter or digit`);
const authority = z.string().regex(AUTHORITY, 'must look like US-BIS or CN-MOFCOM (country code, dash, agency)');
const country = z.string().refine(isCountry, { message: 'must be an ISO 3166-1 alpha-2 country code such as CN' });
const destination = z
  .string()
  .refine((value) => value === ANY_DESTINATION || isCountry(value), { message: 'must be an ISO 3166-1 alpha-2 country code such as CN, or "*"' });
const destinations = z.array(destination).min(1, 'name at least one destination').max(300).refine(unique, { message: 'must not repeat a destination' });
const exceptDestinations = z.array(country).max(300).refine(unique, { message: 'must not repeat a destination' });
const chipList = z.array(chipSlug).max(500).refine(unique, { message: 'must not repeat a chip' });

const INSTANT_MESSAGE = 'must be a date (2025-04-09) or an ISO 8601 timestamp with a time zone (2025-04-09T12:00:00Z)';

/** A date (`2025-04-09`, the start of that day in UTC) or an ISO 8601 timestamp with an offset. */
export const instantText = z.string().refine((value) => parseInstant(value) !== undefined, { message: INSTANT_MESSAGE });

/** The same text, parsed once: the instant it names. */
export const instant = z.string().transform((value, context) => {
  const parsed = parseInstant(value);
  if (parsed === undefined) context.addIssue({ code: 'custom', message: INSTANT_MESSAGE, input: value });
  return parsed ?? z.NEVER;
});

export const requirements = ['license_required', 'prohibited', 'notification_required'] as const;
export const licensePolicies = ['presumption_of_denial', 'case_by_case', 'presumption_of_approval'] as const;
export const investigationKinds = ['antitrust', 'anti_dumping', 'anti_discrimination', 'security_review'] as const;
export const advisoryLevels = ['discouraged', 'prohibited'] as const;
export const confidences = ['high', 'medium', 'low'] as const;

export const specsSchema = z
  .object({
    denseTops: z
      .record(
        z.string().refine((name) => PRECISION_BITS[name] !== undefined, {
          message: `precision must be one of ${Object.keys(PRECISION_BITS).join(', ')}`,
        }),
        z.number().positive().max(1e9),
      )
      .optional(),
    dieAreaMm2: z.number().positive().max(1e6).optional(),
    tpp: z.number().positive().max(1e9).optional(),
    performanceDensity: z.number().positive().max(1e6).optional(),
  })
  .strict();

export const scopeSchema = z
  .object({
    chips: chipList.optional(),
    eccnBands: z.array(z.enum(['3A090.a', '3A090.b'])).max(2).refine(unique, { message: 'must not repeat a band' }).optional(),
    datacenterOnly: z.boolean().optional(),
    excludeChips: chipList.optional(),
  })
  .strict()
  .refine((scope) => (scope.chips?.length ?? 0) + (scope.eccnBands?.length ?? 0) > 0, {
    message: 'scope must name chips, ECCN bands or both',
  });

export const conditionSchema = z
  .object({
    type: z.string().regex(/^[a-z][a-z0-9_]{0,49}$/, 'must be a lowercase condition type such as revenue_share'),
    percent: z.number().min(0).max(100).optional(),
    description: text(1000).optional(),
  })
  .catchall(z.union([z.string().max(1000), z.number(), z.boolean()]))
  .refine((condition) => condition.type !== 'revenue_share' || typeof condition.percent === 'number', {
    message: 'a revenue_share condition needs a percent',
    path: ['percent'],
  });

export const sourceSchema = z
  .object({
    url: z
      .string()
      .max(2000)
      .refine(isHttpUrl, { message: 'must be an http(s) URL' }),
    title: text(500),
    publishedAt: instantText,
    confidence: z.enum(confidences).optional(),
    publisher: text(200).optional(),
    /** Set when the event was approved from a feed item in the inbox. */
    feedItemId: z.uuid().optional(),
  })
  .strict();

const notes = text(4000).optional();

export const eventDataSchemas = {
  ChipRegistered: z
    .object({
      chip: chipSlug,
      vendor: text(100),
      model: text(200),
      datacenter: z.boolean(),
      specs: specsSchema.optional(),
      origin: country.optional(),
      notes,
    })
    .strict(),
  ChipSpecsUpdated: z.object({ chip: chipSlug, specs: specsSchema, datacenter: z.boolean().optional(), notes }).strict(),
  ControlImposed: z
    .object({
      measureId: identifier('measureId'),
      authority,
      direction: z.enum(['export', 'import']),
      requirement: z.enum(requirements),
      licensePolicy: z.enum(licensePolicies).optional(),
      scope: scopeSchema,
      destinations,
      exceptDestinations: exceptDestinations.optional(),
      title: text(500),
      notes,
    })
    .strict(),
  ControlAmended: z
    .object({
      measureId: identifier('measureId'),
      requirement: z.enum(requirements).optional(),
      licensePolicy: z.enum(licensePolicies).nullable().optional(),
      scope: scopeSchema.optional(),
      destinations: destinations.optional(),
      exceptDestinations: exceptDestinations.optional(),
      title: text(500).optional(),
      notes,
    })
    .strict()
    .refine(
      (data) =>
        ['requirement', 'licensePolicy', 'scope', 'destinations', 'exceptDestinations', 'title'].some(
          (key) => (data as Record<string, unknown>)[key] !== undefined,
        ),
      { message: 'an amendment must change at least one of requirement, licensePolicy, scope, destinations, exceptDestinations, title' },
    ),
  ControlLifted: z.object({ measureId: identifier('measureId'), reason: text(2000).optional() }).strict(),
  LicenseGranted: z
    .object({
      licenseId: identifier('licenseId'),
      authority,
      holder: text(200),
      chips: chipList.min(1, 'name at least one chip'),
      destinations,
      exceptDestinations: exceptDestinations.optional(),
      conditions: z.array(conditionSchema).max(50).optional(),
      expiresAt: instantText.optional(),
      title: text(500).optional(),
      notes,
    })
    .strict(),
  LicenseAmended: z
    .object({
      licenseId: identifier('licenseId'),
      holder: text(200).optional(),
      chips: chipList.min(1, 'name at least one chip').optional(),
      destinations: destinations.optional(),
      exceptDestinations: exceptDestinations.optional(),
      conditions: z.array(conditionSchema).max(50).optional(),
      expiresAt: instantText.nullable().optional(),
      notes,
    })
    .strict()
    .refine(
      (data) =>
        ['holder', 'chips', 'destinations', 'exceptDestinations', 'conditions', 'expiresAt'].some(
          (key) => (data as Record<string, unknown>)[key] !== undefined,
        ),
      { message: 'an amendment must change at least one of holder, chips, destinations, exceptDestinations, conditions, expiresAt' },
    ),
  LicenseRevoked: z.object({ licenseId: identifier('licenseId'), reason: text(2000).optional() }).strict(),
  AdvisoryIssued: z
    .object({
      advisoryId: identifier('advisoryId'),
      authority,
      level: z.enum(advisoryLevels),
      chips: chipList.min(1, 'name at least one chip'),
      destinations,
      exceptDestinations: exceptDestinations.optional(),
      title: text(500),
      notes,
    })
    .strict(),
  AdvisoryWithdrawn: z.object({ advisoryId: identifier('advisoryId'), reason: text(2000).optional() }).strict(),
  InvestigationOpened: z
    .object({
      investigationId: identifier('investigationId'),
      authority,
      kind: z.enum(investigationKinds),
      subjects: z
        .object({ companies: z.array(text(200)).max(100).optional(), chips: chipList.optional() })
        .strict()
        .refine((s) => (s.companies?.length ?? 0) + (s.chips?.length ?? 0) > 0, { message: 'name at least one company or chip' }),
      title: text(500),
      notes,
    })
    .strict(),
  InvestigationConcluded: z
    .object({ investigationId: identifier('investigationId'), outcome: text(2000).optional(), notes })
    .strict(),
  EventRetracted: z.object({ eventId: z.uuid('must be the id (UUID) of a recorded event'), reason: text(2000) }).strict(),
  EventCorrected: z
    .object({
      eventId: z.uuid('must be the id (UUID) of a recorded event'),
      data: z.record(z.string(), z.unknown()).optional(),
      effectiveAt: instantText.optional(),
      reason: text(2000),
    })
    .strict()
    .refine((data) => data.data !== undefined || data.effectiveAt !== undefined, {
      message: 'a correction must replace the data, the effectiveAt, or both',
    }),
} as const;

export type PolicyEventType = keyof typeof eventDataSchemas;
export const POLICY_EVENT_TYPES = Object.keys(eventDataSchemas) as PolicyEventType[];

export type EventData<T extends PolicyEventType> = z.infer<(typeof eventDataSchemas)[T]>;
export type Source = z.infer<typeof sourceSchema>;
export type Scope = z.infer<typeof scopeSchema>;
export type Condition = z.infer<typeof conditionSchema>;
export type Requirement = (typeof requirements)[number];
export type LicensePolicy = (typeof licensePolicies)[number];

/** A policy event as the domain sees it: type, data and the two facts every event carries. */
export type PolicyEvent = {
  [T in PolicyEventType]: { readonly type: T; readonly data: EventData<T>; readonly metadata: PolicyEventMetadata };
}[PolicyEventType];

export interface PolicyEventMetadata {
  /** Valid time: when the fact takes effect in the world. */
  readonly effectiveAt: Date;
  readonly source: Source;
}

/** Identity fields a correction may not change: they decide which stream and entity an event belongs to. */
export const IDENTITY_FIELDS: Readonly<Record<PolicyEventType, readonly string[]>> = {
  ChipRegistered: ['chip'],
  ChipSpecsUpdated: ['chip'],
  ControlImposed: ['measureId'],
  ControlAmended: ['measureId'],
  ControlLifted: ['measureId'],
  LicenseGranted: ['licenseId'],
  LicenseAmended: ['licenseId'],
  LicenseRevoked: ['licenseId'],
  AdvisoryIssued: ['advisoryId'],
  AdvisoryWithdrawn: ['advisoryId'],
  InvestigationOpened: ['investigationId'],
  InvestigationConcluded: ['investigationId'],
  EventRetracted: ['eventId'],
  EventCorrected: ['eventId'],
};

export function isPolicyEventType(type: string): type is PolicyEventType {
  return Object.prototype.hasOwnProperty.call(eventDataSchemas, type);
}

/**
 * Parses `YYYY-MM-DD` (midnight UTC) or an ISO 8601 timestamp with `Z` or an offset; anything else is undefined.
 * With `endOfDay`, a bare date means the last millisecond of that day (used for as-of questions).
 */
export function parseInstant(value: string, endOfDay = false): Date | undefined {
  if (typeof value !== 'string') return undefined;
  // YYYY-MM-DD read digit by digit: every imported event has one or two, and a regular expression's match took
  // about twice as long.
  if (value.length === 10 && value[4] === '-' && value[7] === '-') {
    const [year, month, day] = [digitsAt(value, 0, 4), digitsAt(value, 5, 2), digitsAt(value, 8, 2)];
    if (!Number.isNaN(year + month + day)) {
      const parsed = new Date(Date.UTC(year, month - 1, day, endOfDay ? 23 : 0, endOfDay ? 59 : 0, endOfDay ? 59 : 0, endOfDay ? 999 : 0));
      if (parsed.getUTCFullYear() !== year || parsed.getUTCMonth() !== month - 1 || parsed.getUTCDate() !== day) return undefined;
      return year < 1900 || year > 2200 ? undefined : parsed;
    }
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(value)) return undefined;
  const parsed = new Date(value);
  if (Number.isNaN(parsed.getTime())) return undefined;
  const year = parsed.getUTCFullYear();
  return year < 1900 || year > 2200 ? undefined : parsed;
}

/** The number written in ASCII digits at value[from, from + count), or NaN if any is not a digit. */
function digitsAt(value: string, from: number, count: number): number {
  let number = 0;
  for (let index = from; index < from + count; index += 1) {
    const digit = value.charCodeAt(index) - 48;
    if (!(digit >= 0 && digit <= 9)) return NaN;
    number = number * 10 + digit;
  }
  return number;
}

function unique(values: readonly string[]): boolean {
  return new Set(values).size === values.length;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
