/** Every ISO 4217 currency code this runtime's ICU knows (and so can format). */
const CURRENCY_CODES: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'));

/** True for a known ISO 4217 code in upper case, such as `KRW` or `EUR`. */
export function isCurrencyCode(value: unknown): value is string {
  return typeof value === 'string' && CURRENCY_CODES.has(value);
}

/**
 * ISO 4217 minor units other than 2, from the standard's list of current codes (List One, column
 * "Minor unit"): every other code this runtime knows has 2. Not taken from Intl: ICU's display
 * digits are fewer than the standard's minor unit for some codes (HUF, COP, IDR, PKR, IQD, …
 * show 0), and money in minor units must follow the standard the gateways follow.
 */
const MINOR_UNITS_NOT_2: ReadonlyMap<string, number> = new Map([
  ...[
    'BIF',
    'CLP',
    'DJF',
    'GNF',
    'ISK',
    'JPY',
    'KMF',
    'KRW',
    'PYG',
    'RWF',
    'UGX',
    'UYI',
    'VND',
    'VUV',
    'XAF',
    'XOF',
    'XPF',
  ].map((code) => [code, 0] as const),
  ...['BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND'].map((code) => [code, 3] as const),
  ...['CLF', 'UYW'].map((code) => [code, 4] as const),
]);

/**
 * Digits after the decimal point of the currency's minor unit (its ISO 4217 exponent):
 * 0 for KRW and JPY, 2 for EUR, USD and HUF, 3 for BHD and IQD. Money in boxoffice is an integer
 * count of these minor units.
 */
export function minorUnitDigits(currency: string): number {
  return MINOR_UNITS_NOT_2.get(currency) ?? 2;
}
