import { CURATED_DATASET, DatasetSeeder } from '@chiptrail/dataset';
import { ImportPolicyEvents } from '@chiptrail/policy';
import { readJson, startTestApp, type TestApp } from '@chiptrail/testing';

/** The curated dataset, loaded on first start, gives a compliance user the real answers. */
let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({ env: { SEED_DATASET: 'true' } });
  await app.settle();
}, 120_000);
afterAll(() => app.close());

async function status(chip: string, destination: string, asOf: string) {
  const response = await app.call('viewer', 'GET', `/api/v1/chips/${chip}/status?destination=${destination}&asOf=${asOf}`);
  expect(response.status).toBe(200);
  return readJson(response) as Promise<{
    classification: { band: string; tpp: number };
    export: { status: string; since: string | null; conditions: Array<{ type: string; percent?: number }>; licensePolicy: string | null; basis: Array<{ type: string; source: { url: string; confidence?: string } }> };
    import: { status: string; basis: Array<{ authority: string }> };
  }>;
}

it('loads every event of the dataset once, through the same append path, keeping sources and confidence', async () => {
  const events = await app.runtime.db.query<{ n: string }>(`SELECT count(*) AS n FROM events WHERE metadata->>'actor' = 'system:dataset'`);
  expect(Number(events.rows[0]!.n)).toBe(CURATED_DATASET.events.length);
  for (const entry of CURATED_DATASET.events.slice(0, 50)) {
    const detail = await readJson(await app.call('viewer', 'GET', `/api/v1/events/${entry.id}`));
    expect(detail).toMatchObject({ id: entry.id, type: entry.type, source: entry.source });
  }
  const again = await new DatasetSeeder(app.runtime.db, app.app.get(ImportPolicyEvents), app.runtime.clock, app.runtime.logger).seedIfEmpty();
  expect(again).toEqual({ skipped: 'already loaded' });
});

it('registers at least every chip of the reference list, classified', async () => {
  const chips = (await readJson(await app.call('viewer', 'GET', '/api/v1/chips'))).items as Array<{ chip: string; classification: { band: string; tpp: number | null } }>;
  const byChip = Object.fromEntries(chips.map((c) => [c.chip, c.classification]));
  expect(Object.keys(byChip).length).toBeGreaterThanOrEqual(15);
  expect(byChip['nvidia-a100']).toMatchObject({ band: '3A090.a', tpp: 4992 });
  expect(byChip['nvidia-h20']).toMatchObject({ band: 'none', tpp: 2368 });
  expect(byChip['nvidia-rtx-4090']).toMatchObject({ band: '3A090.a' });
  expect(byChip['nvidia-rtx-4090d']).toMatchObject({ band: 'none' });
  expect(byChip['nvidia-b30a']).toMatchObject({ band: 'unknown', tpp: null });
});

it('H20 to China: unrestricted in mid-2024, licence required from 2025-04-09, licensed with 15% revenue share in August 2025', async () => {
  expect((await status('nvidia-h20', 'CN', '2024-07-01')).export.status).toBe('unrestricted');
  expect((await status('nvidia-h20', 'CN', '2025-04-08')).export.status).toBe('unrestricted');
  const required = await status('nvidia-h20', 'CN', '2025-04-09');
  expect(required.export).toMatchObject({ status: 'license_required', since: '2025-04-09T00:00:00.000Z' });
  expect(required.export.basis[0]!.source.url).toBe('https://www.sec.gov/Archives/edgar/data/1045810/000104581025000082/nvda-20250409.htm');
  const licensed = await status('nvidia-h20', 'CN', '2025-09-01');
  expect(licensed.export).toMatchObject({ status: 'licensed', since: '2025-08-08T00:00:00.000Z' });
  expect(licensed.export.conditions).toEqual([expect.objectContaining({ type: 'revenue_share', percent: 15 })]);
  expect(licensed.export.basis.map((b) => b.type)).toEqual(expect.arrayContaining(['ControlImposed', 'LicenseGranted']));
});

it('H20 on the import side: open before, discouraged after the August 2025 guidance', async () => {
  expect((await status('nvidia-h20', 'CN', '2025-08-11')).import.status).toBe('open');
  const after = await status('nvidia-h20', 'CN', '2025-08-13');
  expect(after.import.status).toBe('discouraged');
  expect(after.import.basis[0]!.authority).toMatch(/^CN-/);
});

it('A800 to China: unrestricted before 2023-11-17, licence required after', async () => {
  expect((await status('nvidia-a800', 'CN', '2023-11-16')).export.status).toBe('unrestricted');
  const after = await status('nvidia-a800', 'CN', '2023-11-17');
  expect(after.classification.band).toBe('3A090.a');
  expect(after.export).toMatchObject({ status: 'license_required', licensePolicy: 'presumption_of_denial' });
  expect(after.export.basis[0]!.source.url).toContain('2023-23055');
});

it('knows other parts of the record: A100 from the 2022 letters, RTX 4090 D outside the rule, the January 2026 case-by-case policy', async () => {
  expect((await status('nvidia-a100', 'CN', '2022-08-25')).export.status).toBe('unrestricted');
  expect((await status('nvidia-a100', 'RU', '2022-09-01')).export.status).toBe('license_required');
  expect((await status('nvidia-rtx-4090', 'CN', '2024-01-01')).export.status).toBe('license_required');
  expect((await status('nvidia-rtx-4090d', 'CN', '2024-01-01')).export.status).toBe('unrestricted');
  expect((await status('nvidia-h100', 'CN', '2026-02-01')).export).toMatchObject({ status: 'license_required', licensePolicy: 'case_by_case' });
  expect((await status('nvidia-h100', 'CN', '2025-06-01')).export.licensePolicy).toBe('presumption_of_denial');
  expect((await status('nvidia-h100', 'DE', '2025-06-01')).export.status).toBe('unrestricted');
});

it('what we knew before the dataset was recorded is nothing: 404, not a guess', async () => {
  const response = await app.call('viewer', 'GET', '/api/v1/chips/nvidia-h20/status?destination=CN&asOf=2025-09-01&knownAt=2025-09-01');
  expect(response.status).toBe(404);
  expect(await readJson(response)).toMatchObject({ code: 'chip_not_known_at' });
});
