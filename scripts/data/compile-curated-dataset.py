# Compiles data/curated-dataset.json from the sourced reference timelines (../shared/reference). Run: python3 scripts/data/compile-curated-dataset.py [reference-dir]
import json, uuid
import os, sys
REF = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '../../../shared/reference/')
tl = {e['id']: e for f in ['timeline.json', 'timeline-2026.json'] for e in json.load(open(REF + f))}
chips_ref = {c['model']: c for c in json.load(open(REF + 'chips.json'))}
NS = uuid.UUID('6f1c2a60-5b1e-4c0e-9d2e-1c9a7c1e0a11')
events = []

def ev(ref, type_, effective, data, source_url, title, published, confidence, note=None):
    e = {'id': str(uuid.uuid5(NS, ref + ':' + type_ + ':' + json.dumps(data, sort_keys=True))), 'ref': ref, 'type': type_,
         'effectiveAt': effective, 'data': data,
         'source': {'url': source_url, 'title': title, 'publishedAt': published, 'confidence': confidence}}
    if note: e['note'] = note
    events.append(e)

def tsrc(ref):
    t = tl[ref]
    return t['source_url'], t['confidence'], t['announced_on']

CHINA = ['CN', 'HK', 'MO']
D5_OTHER = ['AF', 'BY', 'CD', 'CF', 'CU', 'ER', 'HT', 'IQ', 'IR', 'KH', 'KP', 'LB', 'LY', 'MM', 'RU', 'SD', 'SO', 'SS', 'SY', 'VE', 'ZW']
D1_D4_OTHER = ['AE', 'AM', 'AZ', 'BH', 'EG', 'GE', 'JO', 'KG', 'KW', 'KZ', 'LA', 'MD', 'MN', 'OM', 'PK', 'QA', 'SA', 'TJ', 'TM', 'UZ', 'VN', 'YE']

# ---- chips (from chips.json) ----
def chip(slug, model_key, vendor, model, effective, published, tops=None, die=None, datacenter=True, origin=None, notes=None, tpp=None):
    c = chips_ref[model_key]
    data = {'chip': slug, 'vendor': vendor, 'model': model, 'datacenter': datacenter}
    specs = {}
    if tops: specs['denseTops'] = tops
    if die: specs['dieAreaMm2'] = die
    if tpp: specs['tpp'] = tpp
    if specs: data['specs'] = specs
    if origin: data['origin'] = origin
    if notes: data['notes'] = notes
    ev('chip:' + slug, 'ChipRegistered', effective, data, c['source_url'], f'{model}: specifications', published, c['confidence'])

chip('nvidia-a100', 'NVIDIA A100 (SXM, 80GB)', 'NVIDIA', 'A100 (SXM, 80GB)', '2022-08-26', '2022-08-26', {'bf16': 312, 'int8': 624}, 826)
chip('nvidia-a800', 'NVIDIA A800', 'NVIDIA', 'A800', '2023-10-17', '2023-10-17', {'bf16': 312, 'int8': 624}, 826,
     notes='China variant of the A100 with the same compute and reduced chip-to-chip I/O, which kept it outside the October 2022 rule.')
chip('nvidia-h100', 'NVIDIA H100 (SXM5, 80GB)', 'NVIDIA', 'H100 (SXM5, 80GB)', '2022-08-26', '2022-08-26', {'bf16': 989, 'int8': 1978.9}, 814)
chip('nvidia-h800', 'NVIDIA H800 (SXM)', 'NVIDIA', 'H800 (SXM)', '2023-10-17', '2023-10-17', {'bf16': 989, 'int8': 1978.9}, 814,
     notes='China variant of the H100 with reduced NVLink bandwidth.')
chip('nvidia-h200', 'NVIDIA H100 (SXM5, 80GB)', 'NVIDIA', 'H200', '2025-12-08', '2025-12-08', {'bf16': 989, 'int8': 1978.9}, 814,
     notes='Same GH100 compute die as the H100 with 141 GB HBM3e; dense figures and die area taken as the H100\'s (medium confidence).')
events[-1]['source']['confidence'] = 'medium'
chip('nvidia-h20', 'NVIDIA H20 (HGX)', 'NVIDIA', 'H20 (HGX)', '2025-04-09', '2025-04-09', {'fp16': 148, 'int8': 296}, 814)
chip('nvidia-l20', 'NVIDIA L20 (PCIe)', 'NVIDIA', 'L20 (PCIe)', '2023-11-01', '2023-11-01', {'bf16': 119.5, 'int8': 239}, 608.5,
     notes='Die area assumes AD102; a smaller die would raise PD above 3.2.')
chip('nvidia-rtx-4090', 'NVIDIA GeForce RTX 4090', 'NVIDIA', 'GeForce RTX 4090', '2023-10-17', '2023-10-17', {'int8': 660.6}, 608.5, datacenter=False)
chip('nvidia-rtx-4090d', 'NVIDIA GeForce RTX 4090 D', 'NVIDIA', 'GeForce RTX 4090 D', '2023-12-29', '2023-12-29', {'int8': 588.3}, 608.5, datacenter=False,
     notes='INT8 figure computed by scaling the RTX 4090 by core count (medium confidence).')
chip('nvidia-b200', 'NVIDIA B200', 'NVIDIA', 'B200', '2024-03-18', '2024-03-18', {'bf16': 2250, 'int8': 4500}, 1614)
chip('nvidia-b30a', 'NVIDIA B30A (reported, China-targeted)', 'NVIDIA', 'B30A', '2025-08-19', '2025-08-19',
     notes='Reported single-die Blackwell for China; no public specifications, so its ECCN band is unknown.')
chip('nvidia-rtx-pro-6000d', 'NVIDIA RTX PRO 6000D (China-specific, reported)', 'NVIDIA', 'RTX PRO 6000D', '2025-09-16', '2025-09-16',
     notes='China-specific part; no public performance figures.')
chip('amd-mi250', 'AMD Instinct MI250', 'AMD', 'Instinct MI250', '2022-08-26', '2022-08-26', {'bf16': 362.1, 'int8': 362.1}, 1074)
chip('amd-mi300x', 'AMD Instinct MI300X', 'AMD', 'Instinct MI300X', '2023-12-06', '2023-12-06', {'bf16': 1307.4, 'int8': 2614.9},
     notes='Applicable die area (XCDs plus IODs) is not published, so PD is unknown; TPP alone places it in 3A090.a.')
chip('amd-mi308', 'AMD Instinct MI308 (China-specific)', 'AMD', 'Instinct MI308', '2025-04-16', '2025-04-16', notes='China-specific; specifications not public.')
chip('huawei-ascend-910b', 'Huawei Ascend 910B', 'Huawei', 'Ascend 910B', '2025-05-13', '2025-05-13', {'bf16': 320}, 665.61, origin='CN',
     notes='PRC-made: not a US export, so band-based US export controls exclude it; BIS GP10 guidance concerns its use.')

# ---- US export controls ----
u, c, a = tsrc('us-2022-08-26-is-informed-a100-h100')
ev('us-2022-08-26-is-informed-a100-h100', 'ControlImposed', '2022-08-26', {
  'measureId': 'us-2022-08-is-informed-a100-h100-mi250', 'authority': 'US-BIS', 'direction': 'export', 'requirement': 'license_required',
  'scope': {'chips': ['nvidia-a100', 'nvidia-h100', 'amd-mi250']}, 'destinations': ['CN', 'HK', 'RU'],
  'title': 'Is-informed letters: licence required for A100, H100 and MI250 to China, Hong Kong and Russia'},
  u, 'US stops NVIDIA and AMD selling top AI chips to China and Russia', '2022-09-01', c)

u, c, a = tsrc('us-2022-10-07-advanced-computing-ifr')
ev('us-2022-10-07-advanced-computing-ifr', 'ControlImposed', '2022-10-07', {
  'measureId': 'us-bis-2022-21658-advanced-computing', 'authority': 'US-BIS', 'direction': 'export', 'requirement': 'license_required',
  'licensePolicy': 'presumption_of_denial',
  'scope': {'chips': ['nvidia-a100', 'nvidia-h100', 'amd-mi250']}, 'destinations': ['CN'],
  'title': 'October 2022 advanced computing rule (87 FR 62186): 3A090 ICs with ≥ 600 GB/s I/O and TPP ≥ 4800',
  'notes': 'The 2022 test needed both the I/O and the performance threshold, so it is modelled by the chips known to meet both.'},
  u, 'Implementation of Additional Export Controls: Certain Advanced Computing and Semiconductor Manufacturing Items (FR Doc 2022-21658)', '2022-10-13', c)

u, c, a = tsrc('us-2023-01-17-macau')
ev('us-2023-01-17-macau', 'ControlAmended', '2023-01-17', {
  'measureId': 'us-bis-2022-21658-advanced-computing', 'destinations': ['CN', 'MO']},
  u, 'BIS applies the advanced computing controls to Macau (FR Doc 2023-00888)', '2023-01-18', c)

u, c, a = tsrc('us-2023-10-17-acs-ifr')
acs_title = 'October 2023 AC/S rule (88 FR 73458): 3A090.a and 3A090.b by TPP and performance density'
ev('us-2023-10-17-acs-ifr', 'ControlImposed', '2023-11-17', {
  'measureId': 'us-bis-2023-23055-acs-d5', 'authority': 'US-BIS', 'direction': 'export', 'requirement': 'license_required',
  'licensePolicy': 'presumption_of_denial',
  'scope': {'eccnBands': ['3A090.a', '3A090.b'], 'excludeChips': ['huawei-ascend-910b']}, 'destinations': CHINA + D5_OTHER,
  'title': acs_title + ' — China, Macau and Country Group D:5',
  'notes': 'Presumption of denial for China and Macau is inferred from the January 2026 rule that relaxed it.'},
  u, 'Implementation of Additional Export Controls: Certain Advanced Computing Items; Supercomputer and Semiconductor End Use (FR Doc 2023-23055)', '2023-10-25', c)
ev('us-2023-10-17-acs-ifr', 'ControlImposed', '2023-11-17', {
  'measureId': 'us-bis-2023-23055-acs-d1-d4', 'authority': 'US-BIS', 'direction': 'export', 'requirement': 'license_required',
  'scope': {'eccnBands': ['3A090.a', '3A090.b'], 'excludeChips': ['huawei-ascend-910b']}, 'destinations': D1_D4_OTHER,
  'title': acs_title + ' — Country Groups D:1 and D:4 outside D:5, A:5 and A:6',
  'notes': 'Review policy for these destinations is unverified and not stated. NVIDIA\'s 8-K named Saudi Arabia, the UAE and Vietnam.'},
  u, 'Implementation of Additional Export Controls: Certain Advanced Computing Items; Supercomputer and Semiconductor End Use (FR Doc 2023-23055)', '2023-10-25', 'medium')

u, c, a = tsrc('us-2025-04-09-h20-license-requirement')
ev('us-2025-04-09-h20-license-requirement', 'ControlImposed', '2025-04-09', {
  'measureId': 'us-2025-04-is-informed-h20', 'authority': 'US-BIS', 'direction': 'export', 'requirement': 'license_required',
  'scope': {'chips': ['nvidia-h20']}, 'destinations': CHINA + D5_OTHER,
  'title': 'Is-informed letter: licence required for H20 to China (incl. Hong Kong and Macau) and D:5, indefinitely'},
  u, 'NVIDIA Form 8-K: licence requirement for H20 exports to China and D:5', '2025-04-15', c)

u, c, a = tsrc('us-2025-04-15-mi308-license-requirement')
ev('us-2025-04-15-mi308-license-requirement', 'ControlImposed', '2025-04-16', {
  'measureId': 'us-2025-04-is-informed-mi308', 'authority': 'US-BIS', 'direction': 'export', 'requirement': 'license_required',
  'scope': {'chips': ['amd-mi308']}, 'destinations': CHINA + D5_OTHER,
  'title': 'Licence required for AMD MI308 to China and D:5 (disclosed by AMD)'},
  u, 'AMD discloses a licence requirement for MI308 exports to China', '2025-04-16', c)

u, c, a = tsrc('us-2025-07-14-h20-license-assurance')
for measure, chipname in [('us-2025-04-is-informed-h20', 'H20'), ('us-2025-04-is-informed-mi308', 'MI308')]:
  ev('us-2025-07-14-h20-license-assurance', 'ControlAmended', '2025-07-14', {
    'measureId': measure, 'licensePolicy': 'presumption_of_approval',
    'notes': f'The US government assured the vendor that {chipname} licences would be granted: an assurance, not yet a licence.'},
    u, 'US government assures NVIDIA that H20 licences will be granted', '2025-07-15', c)

u, c, a = tsrc('us-2025-08-08-h20-licenses-issued')
ev('us-2025-08-08-h20-licenses-issued', 'LicenseGranted', '2025-08-08', {
  'licenseId': 'us-bis-2025-08-h20-nvidia', 'authority': 'US-BIS', 'holder': 'NVIDIA', 'chips': ['nvidia-h20'], 'destinations': ['CN'],
  'conditions': [{'type': 'revenue_share', 'percent': 15, 'description': '15% of China H20 revenue paid to the US government (reported; no published regulation)'}],
  'title': 'Commerce begins issuing H20 export licences to NVIDIA, with a 15% revenue share to the US government',
  'notes': 'Scope and quantities not public. The 15% arrangement was reported with the licences (FT 2025-08-10, confirmed by the President 2025-08-11); no legal text was found, and in December 2025 Bloomberg reported no payments had been made.'},
  u, 'NVIDIA and AMD to pay 15% of China chip revenue to the US, official says', '2025-08-11', 'medium')

u, c, a = tsrc('us-2025-11-06-b30a-not-permitted')
ev('us-2025-11-06-b30a-not-permitted', 'ControlImposed', '2025-11-06', {
  'measureId': 'us-2025-11-b30a-not-permitted', 'authority': 'US-BIS', 'direction': 'export', 'requirement': 'license_required',
  'licensePolicy': 'presumption_of_denial', 'scope': {'chips': ['nvidia-b30a']}, 'destinations': CHINA,
  'title': 'White House reportedly will not permit B30A sales to China',
  'notes': 'Reported only (The Information, relayed by Reuters); B30A specifications are not public.'},
  u, 'White House blocks NVIDIA B30A sales to China (reported)', '2025-11-06', c)

u, c, a = tsrc('us-2025-12-04-amd-mi308-licences')
ev('us-2025-12-04-amd-mi308-licences', 'LicenseGranted', '2025-12-04', {
  'licenseId': 'us-bis-2025-mi308-amd', 'authority': 'US-BIS', 'holder': 'AMD', 'chips': ['amd-mi308'], 'destinations': ['CN'],
  'conditions': [{'type': 'revenue_share', 'percent': 15, 'description': 'AMD said it would pay the 15% fee'}],
  'title': 'AMD holds licences for some MI308 shipments to China', 'notes': 'The grant date is unknown; this is the date of disclosure.'},
  u, 'AMD CEO: AMD holds licences for some MI308 shipments to China', '2025-12-04', c)

u, c, a = tsrc('us-2026-01-13-h200-case-by-case-rule')
ev('us-2026-01-13-h200-case-by-case-rule', 'ControlImposed', '2026-01-15', {
  'measureId': 'us-bis-2026-00789-case-by-case', 'authority': 'US-BIS', 'direction': 'export', 'requirement': 'license_required',
  'licensePolicy': 'case_by_case',
  'scope': {'chips': ['nvidia-h200', 'nvidia-h100', 'nvidia-h800', 'nvidia-a100', 'nvidia-a800', 'amd-mi300x', 'amd-mi250', 'nvidia-rtx-4090']},
  'destinations': ['CN', 'MO'],
  'title': 'January 2026 rule (91 FR 1684): case-by-case review below TPP 21,000 and 6,500 GB/s DRAM bandwidth',
  'notes': 'Applies to exports from the US only; reexports stay under presumption of denial. The chips listed are the registered ones chiptrail reads as qualifying from public specifications.'},
  u, 'BIS rule revising licence review policy for advanced computing items to China and Macau (FR Doc 2026-00789)', '2026-01-15', c)

u, c, a = tsrc('us-2026-05-14-h200-licences-ten-firms')
ev('us-2026-05-14-h200-licences-ten-firms', 'LicenseGranted', '2026-05-14', {
  'licenseId': 'us-bis-2026-05-h200-china', 'authority': 'US-BIS', 'holder': 'NVIDIA (about ten Chinese buyers; Lenovo and Foxconn as distributors)',
  'chips': ['nvidia-h200'], 'destinations': ['CN'],
  'conditions': [{'type': 'tariff', 'percent': 25, 'description': 'The 25% cut is collected through the Section 232 tariff'},
                 {'type': 'quantity_cap', 'description': 'Up to 75,000 chips per buyer (reported)'}],
  'title': 'H200 licences reportedly cleared for about ten Chinese firms',
  'notes': 'Secondary sources only; no shipments reported.'},
  u, 'US clears a narrow NVIDIA H200 channel for Chinese buyers (reported)', '2026-05-14', c)

# ---- US guidance on PRC chips ----
u, c, a = tsrc('us-2025-05-13-gp10-huawei-guidance')
ev('us-2025-05-13-gp10-huawei-guidance', 'AdvisoryIssued', '2025-05-13', {
  'advisoryId': 'us-bis-2025-05-gp10-ascend', 'authority': 'US-BIS', 'level': 'discouraged', 'chips': ['huawei-ascend-910b'],
  'destinations': ['*'], 'title': 'BIS guidance: using Huawei Ascend 910B/910C/910D anywhere risks violating General Prohibition 10'},
  u, 'Commerce rescinds the AI Diffusion Rule and issues guidance on Huawei Ascend chips', '2025-05-13', c)

# ---- China: investigations, advisories, import measures ----
u, c, a = tsrc('cn-2024-12-09-samr-nvidia-probe')
ev('cn-2024-12-09-samr-nvidia-probe', 'InvestigationOpened', '2024-12-09', {
  'investigationId': 'cn-samr-2024-nvidia-antitrust', 'authority': 'CN-SAMR', 'kind': 'antitrust', 'subjects': {'companies': ['NVIDIA']},
  'title': 'SAMR antitrust investigation of NVIDIA (Mellanox approval conditions)',
  'notes': 'SAMR announced a preliminary finding of violation on 2025-09-15; the investigation continues.'},
  u, 'SAMR opens an antitrust investigation into NVIDIA', '2024-12-09', c)

u, c, a = tsrc('cn-2025-07-31-cac-summons-nvidia')
ev('cn-2025-07-31-cac-summons-nvidia', 'InvestigationOpened', '2025-07-31', {
  'investigationId': 'cn-cac-2025-h20-security', 'authority': 'CN-CAC', 'kind': 'security_review',
  'subjects': {'companies': ['NVIDIA'], 'chips': ['nvidia-h20']},
  'title': 'CAC summons NVIDIA over alleged H20 security risks'},
  u, 'China summons NVIDIA over H20 chip security risks', '2025-07-31', c)

u, c, a = tsrc('cn-2025-08-12-avoid-h20-guidance')
ev('cn-2025-08-12-avoid-h20-guidance', 'AdvisoryIssued', '2025-08-12', {
  'advisoryId': 'cn-2025-08-avoid-h20', 'authority': 'CN-MIIT', 'level': 'discouraged', 'chips': ['nvidia-h20'], 'destinations': ['CN'],
  'title': 'Chinese regulators advise firms to avoid NVIDIA H20, especially for government work',
  'notes': 'Notices reported by Bloomberg and the FT; not an outright ban.'},
  u, 'China advises firms to avoid NVIDIA H20 chips', '2025-08-12', c)

u, c, a = tsrc('cn-2025-09-13-analog-antidumping')
ev('cn-2025-09-13-analog-antidumping', 'InvestigationOpened', '2025-09-13', {
  'investigationId': 'cn-mofcom-2025-analog-ic-anti-dumping', 'authority': 'CN-MOFCOM', 'kind': 'anti_dumping',
  'subjects': {'companies': ['Texas Instruments', 'Analog Devices', 'Broadcom', 'onsemi']},
  'title': 'MOFCOM anti-dumping investigation of US-origin analog ICs (interface and gate-driver ICs)'},
  u, 'China launches anti-dumping probe into US analog chips', '2025-09-13', c)

u, c, a = tsrc('cn-2025-09-13-anti-discrimination')
ev('cn-2025-09-13-anti-discrimination', 'InvestigationOpened', '2025-09-13', {
  'investigationId': 'cn-mofcom-2025-anti-discrimination', 'authority': 'CN-MOFCOM', 'kind': 'anti_discrimination',
  'subjects': {'companies': ['US Government']},
  'title': 'MOFCOM anti-discrimination investigation into US measures against China\'s chip sector'},
  u, 'China launches anti-discrimination probe into US chip measures', '2025-09-13', c)

u, c, a = tsrc('cn-2025-09-17-cac-rtx-pro-6000d')
ev('cn-2025-09-17-cac-rtx-pro-6000d', 'AdvisoryIssued', '2025-09-17', {
  'advisoryId': 'cn-cac-2025-09-rtx-pro-6000d', 'authority': 'CN-CAC', 'level': 'prohibited', 'chips': ['nvidia-rtx-pro-6000d'],
  'destinations': ['CN'], 'title': 'CAC reportedly orders major tech firms to stop buying and testing RTX PRO 6000D',
  'notes': 'Reported by the FT; no official text.'},
  u, 'China\'s internet regulator bans RTX PRO 6000D purchases (reported)', '2025-09-17', c)

u, c, a = tsrc('cn-2025-11-05-state-funded-datacentre-domestic-chips')
ev('cn-2025-11-05-state-funded-datacentre-domestic-chips', 'AdvisoryIssued', '2025-11-05', {
  'advisoryId': 'cn-2025-11-state-funded-dc-domestic-chips', 'authority': 'CN-GOV', 'level': 'discouraged',
  'chips': ['nvidia-h20', 'nvidia-h200', 'nvidia-b200', 'amd-mi308', 'amd-mi300x'], 'destinations': ['CN'],
  'title': 'New state-funded data centres must use only domestic AI chips',
  'notes': 'Applies to projects with any state funding; issuing agency not named (Reuters sources).'},
  u, 'China bans foreign AI chips from state-funded data centres', '2025-11-05', c)

u, c, a = tsrc('cn-2026-01-07-h200-order-pause')
ev('cn-2026-01-07-h200-order-pause', 'AdvisoryIssued', '2026-01-07', {
  'advisoryId': 'cn-2026-01-h200-order-pause', 'authority': 'CN-GOV', 'level': 'discouraged', 'chips': ['nvidia-h200'], 'destinations': ['CN'],
  'title': 'Chinese firms told to pause H200 orders'},
  u, 'China heightens scrutiny of US tech ties: H200 orders paused', '2026-01-07', c)

u, c, a = tsrc('cn-2026-01-14-customs-h200-not-permitted')
ev('cn-2026-01-14-customs-h200-not-permitted', 'ControlImposed', '2026-01-14', {
  'measureId': 'cn-gac-2026-01-h200-import-block', 'authority': 'CN-GAC', 'direction': 'import', 'requirement': 'prohibited',
  'scope': {'chips': ['nvidia-h200']}, 'destinations': ['CN'],
  'title': 'Customs told H200 are not permitted to enter China',
  'notes': 'Reuters sources; unclear whether a formal ban.'},
  u, 'Chinese customs blocks NVIDIA H200 imports, sources say', '2026-01-14', c)

u, c, a = tsrc('cn-2026-01-28-h200-import-approvals')
ev('cn-2026-01-28-h200-import-approvals', 'ControlAmended', '2026-01-28', {
  'measureId': 'cn-gac-2026-01-h200-import-block', 'requirement': 'license_required',
  'title': 'H200 imports need government approval; a first batch approved for three firms',
  'notes': 'More than 400,000 H200 approved in total for three firms; conditions still being finalised.'},
  u, 'China approves first batch of NVIDIA H200 imports, sources say', '2026-01-28', c)

dataset = {
  'name': 'chiptrail curated dataset',
  'version': 1,
  'description': 'The public record of chip export controls, 2022 to mid-2026, as chiptrail events. Compiled from sourced timelines; every event keeps its source URL and confidence. Dates: the effective date where known, otherwise the announcement date.',
  'limitations': [
    'Country groups are expanded to the destinations listed in each event; entity-based controls (Entity List, headquarters rule) are not modelled per destination.',
    'Nothing after early June 2026 is confirmed; whether the suspensions of November 2025 were extended is unknown.',
  ],
  'events': events,
}
ids = [e['id'] for e in events]
assert len(ids) == len(set(ids))
json.dump(dataset, open(os.path.join(os.path.dirname(__file__), '../../data/curated-dataset.json'), 'w'), indent=2, ensure_ascii=False)
print(len(events), 'events')
