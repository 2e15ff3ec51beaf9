import { ValidationError } from './errors';
import { assertStorableText, unstorableTextAt } from './storable-text';

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
});
