import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { chipAliases, classifyItem, type ItemClassification } from '@chiptrail/domain';
import { CURATED_DATASET } from '@chiptrail/dataset';
import { parseFeedDocument } from './feed-document';

/** The classifier on the captured fixtures, with the curated dataset's chips registered. */
const chips = chipAliases(
  CURATED_DATASET.events
    .filter((event) => event.type === 'ChipRegistered')
    .map((event) => event.data as { chip: string; vendor: string; model: string }),
);

async function classified(name: string, defaultAuthority: string | null = null): Promise<ItemClassification[]> {
  const feed = await parseFeedDocument(readFileSync(path.resolve(__dirname, '../../../tests/fixtures/feeds', name)), undefined);
  return feed.items.map((item) =>
    classifyItem({ ...item, title: item.title ?? '', defaultAuthority, chips, fetchedAt: new Date('2026-01-01T00:00:00Z') }),
  );
}

describe('classifying the fixture feeds', () => {
  it('Atom news: the H20 and MI308 licence requirements, the H20 advisory, and an irrelevant earnings item', async () => {
    const [h20, mi308, advisory, earnings] = await classified('export-news.atom');
    expect(h20!.proposed).toMatchObject({
      type: 'ControlImposed',
      effectiveAt: '2025-04-09',
      data: { authority: 'US-BIS', requirement: 'license_required', scope: { chips: ['nvidia-h20'] }, destinations: ['CN', 'HK', 'MO'] },
    });
    expect(mi308!.proposed).toMatchObject({ type: 'ControlImposed', effectiveAt: '2025-04-16', data: { authority: 'US-BIS', scope: { chips: ['amd-mi308'] }, destinations: ['CN'] } });
    expect(advisory!.proposed).toMatchObject({ type: 'AdvisoryIssued', effectiveAt: '2025-08-12', data: { level: 'discouraged', chips: ['nvidia-h20'], destinations: ['CN'] } });
    expect(earnings).toMatchObject({ relevant: false, proposed: null });
  });

  it('Federal Register RSS: band-wide rules with their document numbers; the Entity List notice is not about chips', async () => {
    const [acs, hbm, diffusion, entities] = await classified('federal-register-bis.rss', 'US-BIS');
    expect(acs!.proposed).toMatchObject({
      type: 'ControlImposed',
      effectiveAt: '2023-11-17',
      data: { measureId: 'us-bis-2023-23055', authority: 'US-BIS', scope: { eccnBands: ['3A090.a', '3A090.b'] } },
    });
    expect((acs!.proposed!.data as { destinations: string[] }).destinations).toEqual(expect.arrayContaining(['CN', 'MO']));
    expect(hbm!.proposed).toMatchObject({ type: 'ControlImposed', data: { measureId: 'us-bis-2024-28270' } });
    expect(diffusion!.proposed).toMatchObject({ type: 'ControlImposed', data: { measureId: 'us-bis-2025-00636' } });
    expect(entities!.relevant).toBe(false);
  });

  it('Federal Register documents API: the structured effective date wins', async () => {
    const [acs, ac2022] = await classified('federal-register-documents.json');
    expect(acs!.proposed).toMatchObject({ effectiveAt: '2023-11-17', data: { authority: 'US-BIS', measureId: 'us-bis-2023-23055' } });
    expect(ac2022!.proposed).toMatchObject({ effectiveAt: '2022-10-07', data: { measureId: 'us-bis-2022-21658' } });
  });

  it('MOFCOM (GBK): the analog-chip anti-dumping investigation; dual-use controls without chips stay out', async () => {
    const [dualUse, antidumping] = await classified('mofcom-policy.gbk.rss', 'CN-MOFCOM');
    expect(dualUse!.relevant).toBe(false);
    expect(antidumping!.proposed).toMatchObject({ type: 'InvestigationOpened', effectiveAt: '2025-09-13', data: { authority: 'CN-MOFCOM', kind: 'anti_dumping' } });
    expect(antidumping!.evidence.map((e) => e.text)).toEqual(expect.arrayContaining(['反倾销', '商务部', '2025年9月13日起']));
  });
});
