/**
 * ECCN 3A090 classification under the October 2023 rule (88 FR 73458), from a chip's specs.
 *
 * TPP ("total processing performance") = max over supported precisions of dense TOPS × bit length.
 * PD ("performance density") = TPP / applicable die area (mm²).
 *   3A090.a: TPP ≥ 4800, or TPP ≥ 1600 and PD ≥ 5.92
 *   3A090.b: 2400 ≤ TPP < 4800 and 1.6 ≤ PD < 5.92, or TPP ≥ 1600 and 3.2 ≤ PD < 5.92
 * Note 2 to 3A090: parts not designed or marketed for datacenters with TPP < 4800 are outside it.
 */

export type EccnBand = '3A090.a' | '3A090.b' | 'none' | 'unknown';
export const ECCN_BANDS: readonly EccnBand[] = ['3A090.a', '3A090.b', 'none', 'unknown'];

export interface ChipSpecs {
  /** Dense (non-sparse) tera-operations per second by precision, e.g. `{ "fp16": 148, "int8": 296 }`. */
  readonly denseTops?: Readonly<Record<string, number>>;
  readonly dieAreaMm2?: number;
  /** Explicit figures (e.g. from a datasheet or a ruling) take precedence over derived ones. */
  readonly tpp?: number;
  readonly performanceDensity?: number;
}

export interface Classification {
  readonly tpp: number | null;
  readonly performanceDensity: number | null;
  readonly band: EccnBand;
  /** Which paragraph matched (`a.1`, `a.2`, `b.1`, `b.2`), or why none did. */
  readonly reason: string;
}

/** Bit length of the multiply inputs for each precision name we accept. */
export const PRECISION_BITS: Readonly<Record<string, number>> = {
  int4: 4,
  fp4: 4,
  fp6: 6,
  int8: 8,
  fp8: 8,
  int16: 16,
  fp16: 16,
  bf16: 16,
  tf32: 32,
  int32: 32,
  fp32: 32,
  fp64: 64,
};

export function totalProcessingPerformance(specs: ChipSpecs): number | null {
  if (typeof specs.tpp === 'number') return specs.tpp;
  const entries = Object.entries(specs.denseTops ?? {}).filter(([precision]) => PRECISION_BITS[precision] !== undefined);
  if (entries.length === 0) return null;
  return Math.max(...entries.map(([precision, tops]) => tops * (PRECISION_BITS[precision] as number)));
}

export function classify(specs: ChipSpecs | undefined, datacenter: boolean): Classification {
  const tpp = specs ? totalProcessingPerformance(specs) : null;
  const pd =
    specs && typeof specs.performanceDensity === 'number'
      ? specs.performanceDensity
      : tpp !== null && specs?.dieAreaMm2
        ? tpp / specs.dieAreaMm2
        : null;
  const result = (band: EccnBand, reason: string): Classification => ({
    tpp: tpp === null ? null : round(tpp, 1),
    performanceDensity: pd === null ? null : round(pd, 2),
    band,
    reason,
  });

  if (tpp === null) return result('unknown', 'no performance figures: TPP cannot be derived');
  if (!datacenter && tpp < 4800) return result('none', 'Note 2: not designed or marketed for datacenters and TPP < 4800');
  if (tpp >= 4800) return result('3A090.a', 'a.1: TPP ≥ 4800');
  if (tpp < 1600) return result('none', 'TPP < 1600');
  if (pd === null) return result('unknown', '1600 ≤ TPP < 4800 but performance density unknown (die area missing)');
  if (pd >= 5.92) return result('3A090.a', 'a.2: TPP ≥ 1600 and PD ≥ 5.92');
  if (tpp >= 2400 && pd >= 1.6) return result('3A090.b', 'b.1: 2400 ≤ TPP < 4800 and 1.6 ≤ PD < 5.92');
  if (pd >= 3.2) return result('3A090.b', 'b.2: TPP ≥ 1600 and 3.2 ≤ PD < 5.92');
  return result('none', 'below both 3A090.a and 3A090.b');
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
