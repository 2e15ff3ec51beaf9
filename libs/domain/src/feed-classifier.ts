import { isCountry } from './countries';
import { IDENTIFIER, parseInstant, type PolicyEventType } from './policy-events';
import { recordEventRequestSchema, type RecordEventRequest } from './record-event-request';

/**
 * Reads a feed item (title and summary, English or Chinese) and proposes the policy event it most likely reports,
 * with a confidence and the evidence: which words matched. Pure: the chips it knows come in as an input.
 * A proposal is a draft for a curator; nothing reaches the log without one approving it.
 */

export interface ChipAliases {
  readonly chip: string;
  readonly vendor: string;
  readonly aliases: readonly string[];
}

export interface ItemToClassify {
  readonly title: string;
  readonly summary: string | null;
  readonly link: string | null;
  readonly publishedAt: Date | null;
  /** Structured effective date (Federal Register `effective_on`), when the source has one. */
  readonly effectiveOn?: string | null;
  readonly defaultAuthority: string | null;
  readonly agencies?: readonly string[];
  readonly chips: readonly ChipAliases[];
  /** When the item was fetched: the fallback date when it carries none. */
  readonly fetchedAt: Date;
}

export type EvidenceKind = 'chip' | 'authority' | 'action' | 'destination' | 'date' | 'band' | 'subject';

export interface Evidence {
  readonly kind: EvidenceKind;
  readonly field: 'title' | 'summary';
  /** The matched text and where it is, so a reader can highlight it. */
  readonly text: string;
  readonly start: number;
  readonly end: number;
  /** What it was read as: a chip slug, an authority code, an event type… */
  readonly value: string;
}

export interface ItemClassification {
  readonly relevant: boolean;
  readonly confidence: number;
  readonly proposed: RecordEventRequest | null;
  readonly evidence: readonly Evidence[];
  readonly reasons: readonly string[];
}

/** Well-known names the registry's model names would not catch. */
export const BUILT_IN_ALIASES: Readonly<Record<string, readonly string[]>> = {
  'nvidia-h20': ['H20', 'H-20', 'Hopper H20', 'NVIDIA H20'],
  'nvidia-h200': ['H200'],
  'nvidia-h100': ['H100'],
  'nvidia-h800': ['H800'],
  'nvidia-a100': ['A100'],
  'nvidia-a800': ['A800'],
  'nvidia-l20': ['L20'],
  'nvidia-b200': ['B200'],
  'nvidia-b30a': ['B30A'],
  'nvidia-rtx-pro-6000d': ['RTX PRO 6000D', 'RTX Pro 6000D', '6000D'],
  'nvidia-rtx-4090': ['RTX 4090', 'GeForce RTX 4090'],
  'nvidia-rtx-4090d': ['RTX 4090 D', 'RTX 4090D', '4090D'],
  'amd-mi250': ['MI250'],
  'amd-mi300x': ['MI300X'],
  'amd-mi308': ['MI308'],
  'huawei-ascend-910b': ['Ascend 910B', '昇腾910B', '昇腾 910B', '910B'],
};

interface Pattern<T> {
  readonly pattern: RegExp;
  readonly value: T;
}

const AUTHORITIES: ReadonlyArray<Pattern<string>> = [
  { pattern: /Bureau of Industry and Security|Industry and Security Bureau|\bBIS\b|(?:U\.S\.|US|United States) (?:Department of )?Commerce|Commerce Department|Department of Commerce|美国商务部/i, value: 'US-BIS' },
  { pattern: /\bU\.?S\.? government\b|\bWhite House\b|\bWashington\b|\b(?:U\.S\.|US) (?:licen[cs]e|export|rule|restriction|curb)/i, value: 'US-BIS' },
  { pattern: /\bMOFCOM\b|China's Ministry of Commerce|Chinese Ministry of Commerce|(?<!美国)商务部/i, value: 'CN-MOFCOM' },
  { pattern: /\bCAC\b|Cyberspace Administration|网信办|国家互联网信息办公室/i, value: 'CN-CAC' },
  { pattern: /\bSAMR\b|State Administration for Market Regulation|市场监管总局|市场监督管理总局/i, value: 'CN-SAMR' },
  { pattern: /General Administration of Customs|Chinese customs|China customs|海关总署|海关/i, value: 'CN-GAC' },
  { pattern: /\bMIIT\b|Ministry of Industry and Information Technology|工信部|工业和信息化部/i, value: 'CN-MIIT' },
  { pattern: /\bMETI\b|Ministry of Economy, Trade and Industry|経済産業省/i, value: 'JP-METI' },
  { pattern: /Dutch (?:government|ministry|minister)|Netherlands (?:government|ministry)/i, value: 'NL-MFA' },
  { pattern: /Chinese (?:regulators?|authorities|government)|Beijing|中国政府|有关部门/i, value: 'CN-GOV' },
];

type Action =
  | { kind: 'investigation'; investigationKind: 'antitrust' | 'anti_dumping' | 'anti_discrimination' | 'security_review' }
  | { kind: 'lift' }
  | { kind: 'revoke_license' }
  | { kind: 'grant_license' }
  | { kind: 'advisory'; level: 'discouraged' | 'prohibited' }
  | { kind: 'ban' }
  | { kind: 'license_requirement' };

const ACTIONS: ReadonlyArray<Pattern<Action>> = [
  { pattern: /anti-?dumping|反倾销/i, value: { kind: 'investigation', investigationKind: 'anti_dumping' } },
  { pattern: /anti-?discrimination|反歧视/i, value: { kind: 'investigation', investigationKind: 'anti_discrimination' } },
  { pattern: /antitrust|anti-?monopoly|反垄断/i, value: { kind: 'investigation', investigationKind: 'antitrust' } },
  { pattern: /security (?:review|risks?)|backdoor|\bsummon(?:s|ed)?\b|约谈|网络安全审查/i, value: { kind: 'investigation', investigationKind: 'security_review' } },
  { pattern: /\b(?:investigation|probe|inquiry)\b|调查|立案/i, value: { kind: 'investigation', investigationKind: 'security_review' } },
  { pattern: /licen[cs]es? (?:\w+ ){0,3}(?:revoked|rescinded)|revok(?:e|es|ed|ing) (?:\w+ ){0,3}licen[cs]es?|吊销|撤销许可/i, value: { kind: 'revoke_license' } },
  { pattern: /\b(?:rescind(?:s|ed)?|rescission|lift(?:s|ed)?|repeal(?:s|ed)?|suspend(?:s|ed)?|suspension)\b|撤销|取消|暂停/i, value: { kind: 'lift' } },
  {
    pattern:
      /licen[cs]es? (?:\w+ ){0,3}(?:granted|issued|approved)|(?:grant(?:s|ed)?|issu(?:e|es|ed|ing)|approv(?:e|es|ed|al)|clear(?:s|ed)?) (?:\w+ ){0,4}licen[cs]es?|approv(?:es|ed|al) (?:\w+ ){0,4}(?:sales|exports|imports)|批准|获批|发放许可/i,
    value: { kind: 'grant_license' },
  },
  { pattern: /stop (?:buying|testing|purchas\w*)|cancel (?:\w+ )?orders|停止采购|禁止采购/i, value: { kind: 'advisory', level: 'prohibited' } },
  { pattern: /\badvis(?:e|es|ed|ory)\b|\burg(?:e|es|ed)\b|\bavoid\b|discourag\w*|guidance|指导|建议|避免|劝导/i, value: { kind: 'advisory', level: 'discouraged' } },
  { pattern: /\bban(?:s|ned)?\b|\bprohibit(?:s|ed|ion)?\b|\bembargo\b|not permitted|禁止|禁令|不予许可/i, value: { kind: 'ban' } },
  {
    pattern:
      /licen[cs]e (?:is |are )?(?:now )?required|requires? (?:a |an )?(?:export )?licen[cs]e|need (?:a )?licen[cs]e|licen[cs]e requirements?|export controls?|impos(?:e|es|ed) controls|add(?:s|ing)? controls|controls on|出口管制|许可证?要求|需要许可/i,
    value: { kind: 'license_requirement' },
  },
];

const DESTINATIONS: ReadonlyArray<Pattern<string>> = [
  { pattern: /Hong Kong|香港/i, value: 'HK' },
  { pattern: /Maca[uo]|澳门/i, value: 'MO' },
  { pattern: /\bChina\b|\bChinese\b|\bPRC\b|\bD:5\b|中国|我国|国内/i, value: 'CN' },
  { pattern: /\bRussia\b|俄罗斯/i, value: 'RU' },
  { pattern: /(?:to|into) (?:the )?(?:United States|U\.S\.|US)\b|对美国|向美国/i, value: 'US' },
  { pattern: /\bJapan\b|日本/i, value: 'JP' },
  { pattern: /Netherlands|荷兰/i, value: 'NL' },
  { pattern: /\bIran\b|伊朗/i, value: 'IR' },
  { pattern: /North Korea|朝鲜/i, value: 'KP' },
  { pattern: /Saudi Arabia|沙特/i, value: 'SA' },
  { pattern: /United Arab Emirates|\bUAE\b|阿联酋/i, value: 'AE' },
  { pattern: /Vietnam|越南/i, value: 'VN' },
];

const CHIP_WORDS = /\bchips?\b|semiconductor|integrated circuits?|\bICs?\b|\bGPUs?\b|accelerators?|processors?|芯片|半导体|集成电路/i;
const BAND_WORDS = /3A090(?:\.[abc])?|advanced[- ]computing (?:integrated circuits|items|chips|ICs)/i;
const IMPORT_WORDS = /\bimport(?:s|ed|ing)?\b|\bpurchas\w*|\bbuy(?:ing)?\b|进口|采购/i;
const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

interface Found<T> {
  readonly value: T;
  readonly evidence: Evidence;
}

export function classifyItem(item: ItemToClassify): ItemClassification {
  const fields = [
    { field: 'title' as const, text: item.title },
    ...(item.summary ? [{ field: 'summary' as const, text: item.summary }] : []),
  ];
  const evidence: Evidence[] = [];
  const reasons: string[] = [];
  const findAll = <T>(patterns: ReadonlyArray<Pattern<T>>, kind: EvidenceKind, describe: (value: T) => string): Array<Found<T>> => {
    const found: Array<Found<T>> = [];
    for (const { field, text } of fields) {
      for (const { pattern, value } of patterns) {
        const match = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`).exec(text);
        if (match) found.push({ value, evidence: { kind, field, text: match[0], start: match.index, end: match.index + match[0].length, value: describe(value) } });
      }
    }
    return found;
  };

  // Chips: the longest alias wins where aliases overlap ("RTX 4090 D" over "RTX 4090").
  const chipHits: Array<Found<string>> = [];
  for (const { field, text } of fields) {
    const candidates = item.chips.flatMap((chip) => chip.aliases.map((alias) => ({ chip: chip.chip, alias })));
    candidates.sort((a, b) => b.alias.length - a.alias.length);
    const taken: Array<[number, number]> = [];
    for (const { chip, alias } of candidates) {
      const pattern = aliasPattern(alias);
      for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
        const start = match.index + (match[1]?.length ?? 0);
        const end = start + alias.length;
        if (taken.some(([s, e]) => start < e && end > s)) continue;
        taken.push([start, end]);
        chipHits.push({ value: chip, evidence: { kind: 'chip', field, text: text.slice(start, end), start, end, value: chip } });
      }
    }
  }
  chipHits.sort((a, b) => (a.evidence.field === b.evidence.field ? a.evidence.start - b.evidence.start : a.evidence.field === 'title' ? -1 : 1));
  const chips = [...new Set(chipHits.map((hit) => hit.value))];
  evidence.push(...chipHits.map((hit) => hit.evidence));

  const actions = findAll(ACTIONS, 'action', (action) => action.kind);
  const action = actions[0];
  if (action) evidence.push(action.evidence);

  const authorityHits = findAll(AUTHORITIES, 'authority', (authority) => authority);
  const agencyAuthority = (item.agencies ?? []).some((agency) => /Industry and Security/i.test(agency)) ? 'US-BIS' : undefined;
  const authority = authorityHits[0]?.value ?? agencyAuthority ?? item.defaultAuthority ?? undefined;
  if (authorityHits[0]) evidence.push(authorityHits[0].evidence);
  else if (agencyAuthority) reasons.push('authority taken from the document agency');
  else if (item.defaultAuthority) reasons.push(`authority not named; using the feed default ${item.defaultAuthority}`);

  const destinationHits = findAll(DESTINATIONS, 'destination', (code) => code);
  evidence.push(...dedupe(destinationHits).map((hit) => hit.evidence));

  const bandHit = findAll([{ pattern: BAND_WORDS, value: 'band' }], 'band', () => '3A090')[0];
  if (bandHit) evidence.push(bandHit.evidence);
  const aboutChips = chips.length > 0 || bandHit !== undefined || fields.some(({ text }) => CHIP_WORDS.test(text));

  const effective = effectiveDate(item, fields);
  if (effective.evidence) evidence.push(effective.evidence);

  if (!action) {
    return { relevant: false, confidence: 0, proposed: null, evidence, reasons: [...reasons, 'no export-control action found'] };
  }
  if (!aboutChips) {
    return { relevant: false, confidence: 0.1, proposed: null, evidence, reasons: [...reasons, 'the action does not concern chips'] };
  }

  const chinese = authority?.startsWith('CN-') ?? false;
  const importSide = fields.some(({ text }) => IMPORT_WORDS.test(text)) || (chinese && action.value.kind === 'advisory');
  let destinations = [...new Set(destinationHits.map((hit) => hit.value))].filter(isCountry);
  if (chinese && importSide) destinations = ['CN'];
  else if (chinese) destinations = destinations.filter((code) => code !== 'CN');
  if (destinations.length === 0) {
    destinations = [chinese ? (importSide ? 'CN' : 'US') : 'CN'];
    reasons.push(`no destination named; proposing ${destinations[0]}`);
  }

  const authorityCode = authority ?? 'US-BIS';
  if (!authority) reasons.push('no authority found; proposing US-BIS');
  const day = effective.date.toISOString().slice(0, 10);
  const documentNumber = /\b(\d{4}-\d{5})\b/.exec(`${item.link ?? ''} ${item.title}`)?.[1];
  const identifier = (kind: string) =>
    sanitizeIdentifier(documentNumber ? `${authorityCode}-${documentNumber}` : `${authorityCode}-${day}-${chips[0] ?? kind}`);
  const title = item.title.slice(0, 500);
  const vendors = [...new Set(chipHits.map((hit) => item.chips.find((chip) => chip.chip === hit.value)?.vendor).filter((v): v is string => Boolean(v)))];

  let type: PolicyEventType;
  let data: Record<string, unknown>;
  const scope = chips.length > 0 ? { chips } : { eccnBands: ['3A090.a', '3A090.b'] };
  switch (action.value.kind) {
    case 'investigation': {
      type = 'InvestigationOpened';
      const subjectCompanies = vendors.length > 0 ? vendors : companiesNamed(fields);
      data = {
        investigationId: identifier(action.value.investigationKind),
        authority: authorityCode,
        kind: action.value.investigationKind,
        subjects: { ...(subjectCompanies.length ? { companies: subjectCompanies } : { companies: ['(to be named by the curator)'] }), ...(chips.length ? { chips } : {}) },
        title,
      };
      break;
    }
    case 'advisory': {
      if (chips.length === 0) return unproposable('an advisory must name chips');
      type = 'AdvisoryIssued';
      data = { advisoryId: identifier('advisory'), authority: authorityCode, level: action.value.level, chips, destinations, title };
      break;
    }
    case 'grant_license': {
      if (chips.length === 0) return unproposable('a licence must name chips');
      type = 'LicenseGranted';
      data = { licenseId: identifier('licence'), authority: authorityCode, holder: vendors[0] ?? '(to be named by the curator)', chips, destinations, title };
      break;
    }
    case 'lift':
    case 'revoke_license': {
      // The measure or licence it ends is already in the log under an id the text does not carry: a curator picks it.
      type = action.value.kind === 'lift' ? 'ControlLifted' : 'LicenseRevoked';
      data = action.value.kind === 'lift' ? { measureId: identifier('measure'), reason: title } : { licenseId: identifier('licence'), reason: title };
      reasons.push(`which ${action.value.kind === 'lift' ? 'measure' : 'licence'} ends must be checked: the id is a guess`);
      break;
    }
    case 'ban':
    case 'license_requirement': {
      type = 'ControlImposed';
      data = {
        measureId: identifier('measure'),
        authority: authorityCode,
        direction: importSide ? 'import' : 'export',
        requirement: action.value.kind === 'ban' ? 'prohibited' : 'license_required',
        scope,
        destinations,
        title,
      };
      break;
    }
    default: {
      const unreachable: never = action.value;
      return unreachable;
    }
  }

  const confidence = round(
    0.35 +
      (chips.length > 0 ? 0.25 : bandHit ? 0.15 : 0.05) +
      (authorityHits.length > 0 || agencyAuthority ? 0.2 : authority ? 0.05 : 0) +
      (destinationHits.length > 0 ? 0.1 : 0) +
      (effective.explicit ? 0.1 : 0) -
      (type === 'ControlLifted' || type === 'LicenseRevoked' ? 0.2 : 0),
  );
  const proposed = {
    type,
    data,
    effectiveAt: day,
    source: {
      url: item.link && /^https?:\/\//i.test(item.link) ? item.link.slice(0, 2000) : 'https://invalid.example/missing-link',
      title: title || 'Untitled item',
      publishedAt: (item.publishedAt ?? item.fetchedAt).toISOString(),
      confidence: confidence >= 0.75 ? ('medium' as const) : ('low' as const),
    },
  };
  const valid = recordEventRequestSchema.safeParse(proposed);
  if (!valid.success) return unproposable(`the proposal would not be valid: ${valid.error.issues[0]?.message ?? 'invalid'}`);
  return { relevant: true, confidence, proposed: proposed as RecordEventRequest, evidence, reasons };

  function unproposable(reason: string): ItemClassification {
    return { relevant: true, confidence: 0.3, proposed: null, evidence, reasons: [...reasons, reason] };
  }
}

/** Builds the chip list for the classifier from registered chips and the built-in aliases. */
export function chipAliases(registered: ReadonlyArray<{ chip: string; vendor: string; model: string }>): ChipAliases[] {
  return registered.map(({ chip, vendor, model }) => {
    const fromModel = model.replace(/\s*\(.*\)\s*$/, '').trim();
    const aliases = new Set([...(BUILT_IN_ALIASES[chip] ?? []), fromModel, `${vendor} ${fromModel}`].filter((alias) => alias.length >= 3));
    return { chip, vendor, aliases: [...aliases] };
  });
}

function aliasPattern(alias: string): RegExp {
  const escaped = alias.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+');
  // Latin aliases must stand alone ("H20" is not inside "H200"); CJK text has no word boundaries.
  const cjk = /[\u3000-\u9fff]/.test(alias);
  return cjk ? new RegExp(`()${escaped}`, 'g') : new RegExp(`(^|[^A-Za-z0-9])${escaped}(?![A-Za-z0-9])`, 'gi');
}

function effectiveDate(item: ItemToClassify, fields: ReadonlyArray<{ field: 'title' | 'summary'; text: string }>): { date: Date; explicit: boolean; evidence?: Evidence } {
  if (item.effectiveOn) {
    const parsed = parseInstant(item.effectiveOn);
    if (parsed) return { date: parsed, explicit: true };
  }
  const year = (item.publishedAt ?? item.fetchedAt).getUTCFullYear();
  for (const { field, text } of fields) {
    const english = /\b(?:effective|takes? effect|informed it|in effect) (?:on |from |as of )?(January|February|March|April|May|June|July|August|September|October|November|December) (\d{1,2})(?:, (\d{4}))?/i.exec(text);
    if (english) {
      const month = MONTHS.indexOf(english[1]!.toLowerCase());
      const date = new Date(Date.UTC(english[3] ? Number(english[3]) : year, month, Number(english[2])));
      if (!Number.isNaN(date.getTime())) {
        return { date, explicit: true, evidence: { kind: 'date', field, text: english[0], start: english.index, end: english.index + english[0].length, value: date.toISOString().slice(0, 10) } };
      }
    }
    const chinese = /(\d{4})年(\d{1,2})月(\d{1,2})日起/.exec(text);
    if (chinese) {
      const date = new Date(Date.UTC(Number(chinese[1]), Number(chinese[2]) - 1, Number(chinese[3])));
      return { date, explicit: true, evidence: { kind: 'date', field, text: chinese[0], start: chinese.index, end: chinese.index + chinese[0].length, value: date.toISOString().slice(0, 10) } };
    }
    const onPublication = /自公布之日起|effective (?:immediately|upon publication)/i.exec(text);
    if (onPublication && item.publishedAt) {
      return { date: item.publishedAt, explicit: true, evidence: { kind: 'date', field, text: onPublication[0], start: onPublication.index, end: onPublication.index + onPublication[0].length, value: item.publishedAt.toISOString().slice(0, 10) } };
    }
  }
  return { date: item.publishedAt ?? item.fetchedAt, explicit: false };
}

function companiesNamed(fields: ReadonlyArray<{ text: string }>): string[] {
  const known = ['NVIDIA', 'Nvidia', 'AMD', 'Intel', 'Huawei', 'Micron', 'Qualcomm', 'Texas Instruments', 'Analog Devices', 'Broadcom', 'onsemi', 'Nexperia', 'ASML', 'TechInsights'];
  const found = known.filter((company) => fields.some(({ text }) => new RegExp(`\\b${company}\\b`).test(text)));
  return [...new Set(found.map((company) => (company === 'Nvidia' ? 'NVIDIA' : company)))];
}

function dedupe<T>(hits: ReadonlyArray<Found<T>>): Array<Found<T>> {
  const seen = new Set<T>();
  return hits.filter((hit) => (seen.has(hit.value) ? false : (seen.add(hit.value), true)));
}

function sanitizeIdentifier(text: string): string {
  const id = text.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 100);
  return IDENTIFIER.test(id) ? id : 'feed-item';
}

function round(value: number): number {
  return Math.max(0, Math.min(1, Math.round(value * 100) / 100));
}
