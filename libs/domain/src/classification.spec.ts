import { classify, totalProcessingPerformance } from './classification';

describe('3A090 classification (October 2023 rule)', () => {
  it.each([
    // chip, specs, datacenter, tpp, pd, band  (figures from ../shared/reference/chips.json)
    ['A100', { denseTops: { bf16: 312, int8: 624 }, dieAreaMm2: 826 }, true, 4992, 6.04, '3A090.a'],
    ['H100', { denseTops: { bf16: 989, int8: 1978.9 }, dieAreaMm2: 814 }, true, 15831.2, 19.45, '3A090.a'],
    ['H20', { denseTops: { fp16: 148, int8: 296 }, dieAreaMm2: 814 }, true, 2368, 2.91, 'none'],
    ['L20', { denseTops: { bf16: 119.5, int8: 239 }, dieAreaMm2: 608.5 }, true, 1912, 3.14, 'none'],
    ['RTX 4090 (consumer, ≥ 4800)', { denseTops: { int8: 660.6 }, dieAreaMm2: 608.5 }, false, 5284.8, 8.68, '3A090.a'],
    ['RTX 4090 D (consumer, < 4800)', { denseTops: { int8: 588.3 }, dieAreaMm2: 608.5 }, false, 4706.4, 7.73, 'none'],
    ['B200', { denseTops: { bf16: 2250, int8: 4500 }, dieAreaMm2: 1614 }, true, 36000, 22.3, '3A090.a'],
    ['MI250', { denseTops: { bf16: 362.1, int8: 362.1 }, dieAreaMm2: 1074 }, true, 5793.6, 5.39, '3A090.a'],
    ['MI300X (no die area)', { denseTops: { bf16: 1307.4, int8: 2614.9 } }, true, 20919.2, null, '3A090.a'],
  ] as const)('%s', (_name, specs, datacenter, tpp, pd, band) => {
    const result = classify(specs, datacenter);
    expect(result.tpp).toBe(tpp);
    expect(result.performanceDensity).toBe(pd);
    expect(result.band).toBe(band);
  });

  it.each([
    ['a.2: TPP ≥ 1600 and PD ≥ 5.92', { tpp: 1600, performanceDensity: 5.92 }, '3A090.a', /^a\.2/],
    ['b.1: 2400 ≤ TPP < 4800 and 1.6 ≤ PD < 5.92', { tpp: 2400, performanceDensity: 1.6 }, '3A090.b', /^b\.1/],
    ['b.2: TPP ≥ 1600 and 3.2 ≤ PD < 5.92', { tpp: 1600, performanceDensity: 3.2 }, '3A090.b', /^b\.2/],
    ['just below b.1 in TPP', { tpp: 2399.9, performanceDensity: 3.19 }, 'none', /below both/],
    ['just below b.1 in PD', { tpp: 4799, performanceDensity: 1.59 }, 'none', /below both/],
    ['TPP below 1600 whatever the density', { tpp: 1599, performanceDensity: 50 }, 'none', /TPP < 1600/],
    ['the a.1 boundary', { tpp: 4800, performanceDensity: 0.1 }, '3A090.a', /^a\.1/],
  ] as const)('boundaries: %s', (_name, specs, band, reason) => {
    const result = classify(specs, true);
    expect(result.band).toBe(band);
    expect(result.reason).toMatch(reason);
  });

  it('explicit TPP and density take precedence over derived ones', () => {
    expect(classify({ denseTops: { int8: 100 }, dieAreaMm2: 100, tpp: 5000, performanceDensity: 1 }, true)).toMatchObject({
      tpp: 5000,
      performanceDensity: 1,
      band: '3A090.a',
    });
  });

  it('says "unknown" rather than guess when figures are missing', () => {
    expect(classify(undefined, true).band).toBe('unknown');
    expect(classify({}, true).band).toBe('unknown');
    expect(classify({ tpp: 3000 }, true)).toMatchObject({ band: 'unknown', reason: expect.stringMatching(/density unknown/) });
  });

  it('takes the highest TPP over all precisions and ignores unknown precision names', () => {
    expect(totalProcessingPerformance({ denseTops: { fp8: 1000, fp16: 400, fp64: 10, magic: 1e9 } })).toBe(8000);
  });
});
