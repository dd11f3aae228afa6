import { describe, expect, it } from 'vitest';
import { isCurrencyCode, minorUnitDigits } from './currency';

describe('minorUnitDigits', () => {
  it('gives the ISO 4217 minor unit, also where ICU displays fewer digits', () => {
    const cases: [string, number][] = [
      ['KRW', 0],
      ['JPY', 0],
      ['CLP', 0],
      ['EUR', 2],
      ['USD', 2],
      ['HUF', 2],
      ['COP', 2],
      ['IDR', 2],
      ['PKR', 2],
      ['BHD', 3],
      ['IQD', 3],
      ['KWD', 3],
    ];
    for (const [currency, digits] of cases) expect(minorUnitDigits(currency), currency).toBe(digits);
  });

  it('answers 0 to 4 for every code the runtime accepts', () => {
    for (const currency of Intl.supportedValuesOf('currency').filter(isCurrencyCode)) {
      expect([0, 2, 3, 4], currency).toContain(minorUnitDigits(currency));
    }
  });
});

describe('isCurrencyCode', () => {
  it.each(['XAG', 'XAU', 'XBA', 'XBB', 'XBC', 'XBD', 'XDR', 'XPD', 'XPT', 'XSU', 'XTS', 'XUA', 'XXX'])(
    'refuses %s, whose ISO 4217 minor unit is N.A.',
    (code) => {
      expect(isCurrencyCode(code)).toBe(false);
    },
  );

  it('accepts codes with a minor unit, and refuses unknown or lower-case ones', () => {
    for (const code of ['EUR', 'KRW', 'BHD', 'XAF', 'XOF', 'XPF', 'XCD']) expect(isCurrencyCode(code), code).toBe(true);
    for (const code of ['eur', 'ABC', '', 'EURO']) expect(isCurrencyCode(code), code).toBe(false);
  });
});
