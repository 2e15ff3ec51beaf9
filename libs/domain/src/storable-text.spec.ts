import fc from 'fast-check';
import { ValidationError } from './errors';
import { assertStorableText, jsonTextMayBeUnstorable, unstorableTextAt } from './storable-text';

describe('storable text', () => {
  it('accepts any well-formed Unicode, emoji and combining marks included', () => {
    expect(unstorableTextAt({ a: ['Ω≈ç', '💥🇨🇳', 'e\u0301', '\u202eevil'], b: { 'ключ': 'значение' }, n: 1, z: null })).toBeNull();
  });

  it('names the first NUL or unpaired surrogate, in values and in keys', () => {
    expect(unstorableTextAt({ data: { title: 'a\u0000b' } })).toBe('data.title');
    expect(unstorableTextAt({ list: ['ok', '\ud800'] })).toBe('list[1]');
    expect(unstorableTextAt({ ['x\udfff']: 1 })).toBe('x\udfff');
    expect(unstorableTextAt('\u0000')).toBe('(body)');
    expect(() => assertStorableText({ name: '\u0000' })).toThrow(ValidationError);
  });

  it('lets through untouched only JSON text whose values are all storable', () => {
    expect(jsonTextMayBeUnstorable('{"title":"Ω≈ç 💥","n":1}')).toBe(true);
    expect(jsonTextMayBeUnstorable('{"title":"plain","list":["a"]}')).toBe(false);
    expect(jsonTextMayBeUnstorable(JSON.stringify({ t: 'a\u0000b' }))).toBe(true);
    expect(jsonTextMayBeUnstorable('{"t":"\\ud800"}')).toBe(true);
    // Any UTF-16 code unit, lone surrogates and NUL included.
    const unit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: unit }), (value) => {
        if (!jsonTextMayBeUnstorable(JSON.stringify(value))) expect(unstorableTextAt(value)).toBeNull();
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.string({ unit }), (text) => {
        const json = JSON.stringify({ text });
        if (unstorableTextAt(JSON.parse(json)) !== null) expect(jsonTextMayBeUnstorable(json)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
