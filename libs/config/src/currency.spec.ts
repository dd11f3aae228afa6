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
    for (const currency of Intl.supportedValuesOf('currency')) {
      expect(isCurrencyCode(currency), currency).toBe(true);
      expect([0, 2, 3, 4], currency).toContain(minorUnitDigits(currency));
    }
  });
});
