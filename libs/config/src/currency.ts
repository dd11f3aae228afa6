/**
 * ISO 4217 codes whose minor unit is "N.A.": precious metals (XAG, XAU, XPD, XPT), bond-market
 * units (XBA–XBD), the IMF's special drawing right (XDR), the SUCRE (XSU), the ADB unit (XUA),
 * the testing code (XTS) and "no currency" (XXX). They have no minor unit to count money in, so no
 * price can be in them.
 */
const NO_MINOR_UNIT: ReadonlySet<string> = new Set([
  'XAG',
  'XAU',
  'XBA',
  'XBB',
  'XBC',
  'XBD',
  'XDR',
  'XPD',
  'XPT',
  'XSU',
  'XTS',
  'XUA',
  'XXX',
]);

/** Every ISO 4217 code this runtime's ICU knows (and so can format) that has a minor unit. */
const CURRENCY_CODES: ReadonlySet<string> = new Set(
  Intl.supportedValuesOf('currency').filter((code) => !NO_MINOR_UNIT.has(code)),
);

/**
 * True for a known ISO 4217 code in upper case with a minor unit, such as `KRW` or `EUR`; false
 * for a code whose minor unit is "N.A." (`XDR`, `XAU`, `XXX`, …).
 */
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
