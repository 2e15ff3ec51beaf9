import { chipAliases, classifyItem, type ItemToClassify } from './feed-classifier';

const registry = chipAliases([
  { chip: 'nvidia-h20', vendor: 'NVIDIA', model: 'H20 (HGX)' },
  { chip: 'nvidia-h200', vendor: 'NVIDIA', model: 'H200' },
  { chip: 'nvidia-rtx-4090', vendor: 'NVIDIA', model: 'GeForce RTX 4090' },
  { chip: 'nvidia-rtx-4090d', vendor: 'NVIDIA', model: 'GeForce RTX 4090 D' },
  { chip: 'nvidia-rtx-pro-6000d', vendor: 'NVIDIA', model: 'RTX PRO 6000D' },
  { chip: 'amd-mi308', vendor: 'AMD', model: 'Instinct MI308' },
  { chip: 'huawei-ascend-910b', vendor: 'Huawei', model: 'Ascend 910B' },
]);

const item = (title: string, summary: string | null = null, extra: Partial<ItemToClassify> = {}): ItemToClassify => ({
  title,
  summary,
  link: 'https://news.example.org/item',
  publishedAt: new Date('2025-08-12T08:00:00Z'),
  defaultAuthority: null,
  chips: registry,
  fetchedAt: new Date('2025-08-12T09:00:00Z'),
  ...extra,
});

describe('feed classifier', () => {
  it('reads chip aliases, including hyphenated and Chinese names, and never a chip inside another name', () => {
    const result = classifyItem(item('US bans H-20 and 昇腾910B exports; H200 licences pending', 'Hopper H20 shipments stop.'));
    expect(result.proposed?.data).toMatchObject({ scope: { chips: ['nvidia-h20', 'huawei-ascend-910b', 'nvidia-h200'] } });
    const evidence = result.evidence.filter((e) => e.kind === 'chip');
    expect(evidence.map((e) => [e.field, e.text, e.value])).toEqual(
      expect.arrayContaining([
        ['title', 'H-20', 'nvidia-h20'],
        ['title', '昇腾910B', 'huawei-ascend-910b'],
        ['title', 'H200', 'nvidia-h200'],
        ['summary', 'Hopper H20', 'nvidia-h20'],
      ]),
    );
    const highlighted = evidence.find((e) => e.text === 'H-20')!;
    expect('US bans H-20 and 昇腾910B exports; H200 licences pending'.slice(highlighted.start, highlighted.end)).toBe('H-20');
  });

  it('prefers the longest alias: "RTX 4090 D" is not an RTX 4090', () => {
    const result = classifyItem(item('China-only RTX 4090 D needs no licence, unlike the RTX 4090 which requires a license'));
    expect(result.evidence.filter((e) => e.kind === 'chip').map((e) => e.value)).toEqual(['nvidia-rtx-4090d', 'nvidia-rtx-4090']);
  });

  it('proposes a licence requirement with authority, destinations and the effective date it reads', () => {
    const result = classifyItem(
      item('US informs Nvidia that H20 exports to China now require a license', 'The U.S. government informed it on April 9 that a license is required to export the H20 to China, including Hong Kong and Macau.', {
        publishedAt: new Date('2025-04-15T21:05:00Z'),
      }),
    );
    expect(result.relevant).toBe(true);
    expect(result.proposed).toMatchObject({
      type: 'ControlImposed',
      effectiveAt: '2025-04-09',
      data: { authority: 'US-BIS', direction: 'export', requirement: 'license_required', scope: { chips: ['nvidia-h20'] }, destinations: ['CN', 'HK', 'MO'] },
      source: { url: 'https://news.example.org/item', publishedAt: '2025-04-15T21:05:00.000Z' },
    });
    expect(result.confidence).toBeGreaterThanOrEqual(0.9);
    expect(result.evidence.map((e) => e.kind)).toEqual(expect.arrayContaining(['chip', 'action', 'authority', 'destination', 'date']));
  });

  it('reads Chinese: 出口管制, 禁止, 反倾销, 调查, 约谈, and 自…日起 dates', () => {
    const advisory = classifyItem(item('网信办约谈英伟达 要求说明H20芯片漏洞后门安全风险'));
    expect(advisory.proposed).toMatchObject({ type: 'InvestigationOpened', data: { authority: 'CN-CAC', kind: 'security_review', subjects: { chips: ['nvidia-h20'] } } });
    const antidumping = classifyItem(item('商务部对原产于美国的进口相关模拟芯片发起反倾销调查', '商务部决定自2025年9月13日起进行反倾销立案调查。'));
    expect(antidumping.proposed).toMatchObject({ type: 'InvestigationOpened', effectiveAt: '2025-09-13', data: { authority: 'CN-MOFCOM', kind: 'anti_dumping' } });
    const ban = classifyItem(item('海关禁止H200芯片进口', '自公布之日起实施。', { publishedAt: new Date('2026-01-14T00:00:00Z') }));
    expect(ban.proposed).toMatchObject({
      type: 'ControlImposed',
      effectiveAt: '2026-01-14',
      data: { authority: 'CN-GAC', direction: 'import', requirement: 'prohibited', destinations: ['CN'], scope: { chips: ['nvidia-h200'] } },
    });
  });

  it('proposes import-side advisories for Chinese guidance, prohibiting when firms are told to stop buying', () => {
    expect(classifyItem(item('Chinese regulator advises companies to avoid H20 purchases')).proposed).toMatchObject({
      type: 'AdvisoryIssued',
      data: { authority: 'CN-GOV', level: 'discouraged', chips: ['nvidia-h20'], destinations: ['CN'] },
    });
    expect(classifyItem(item('CAC tells ByteDance and Alibaba to stop buying RTX Pro 6000D')).proposed).toMatchObject({
      type: 'AdvisoryIssued',
      data: { authority: 'CN-CAC', level: 'prohibited', chips: ['nvidia-rtx-pro-6000d'] },
    });
  });

  it('proposes licence grants, naming the holder', () => {
    expect(classifyItem(item('Commerce begins issuing H20 licenses to Nvidia for China')).proposed).toMatchObject({
      type: 'LicenseGranted',
      data: { authority: 'US-BIS', holder: 'NVIDIA', chips: ['nvidia-h20'], destinations: ['CN'] },
    });
  });

  it('proposes band-wide controls for advanced-computing rules without chip names, with the document number as id', () => {
    const result = classifyItem(
      item('Implementation of Additional Export Controls: Certain Advanced Computing Items', 'The Bureau of Industry and Security imposes license requirements for 3A090 items to Macau and Country Group D:5. This rule is effective November 17, 2023.', {
        link: 'https://www.federalregister.gov/d/2023-23055',
      }),
    );
    expect(result.proposed).toMatchObject({
      type: 'ControlImposed',
      effectiveAt: '2023-11-17',
      data: { measureId: 'us-bis-2023-23055', scope: { eccnBands: ['3A090.a', '3A090.b'] }, destinations: ['MO', 'CN'] },
    });
  });

  it('marks rescissions as needing a curator to pick the measure, with lower confidence', () => {
    const result = classifyItem(item('BIS rescinds the rule on H20 export licences to China'));
    expect(result.proposed?.type).toBe('ControlLifted');
    expect(result.reasons.join(' ')).toMatch(/id is a guess/);
    expect(result.confidence).toBeLessThan(0.75);
  });

  it('keeps irrelevant items out: no action, or an action that does not concern chips', () => {
    expect(classifyItem(item('Quarterly earnings roundup', 'Semiconductor stocks rose on strong data-center demand.'))).toMatchObject({ relevant: false, proposed: null });
    expect(classifyItem(item('商务部公告2024年第46号 关于加强相关两用物项对美国出口管制的公告'))).toMatchObject({ relevant: false, reasons: expect.arrayContaining(['the action does not concern chips']) });
  });

  it('falls back to the feed default authority and says so', () => {
    const result = classifyItem(item('New licence requirement for MI308 to China', null, { defaultAuthority: 'US-BIS' }));
    expect(result.proposed).toMatchObject({ data: { authority: 'US-BIS' } });
    expect(result.reasons).toContain('authority not named; using the feed default US-BIS');
  });
});
