/** Every ISO 4217 currency code this runtime's ICU knows (and so can format). */
const CURRENCY_CODES: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'));

/** True for a known ISO 4217 code in upper case, such as `KRW` or `EUR`. */
export function isCurrencyCode(value: unknown): value is string {
  return typeof value === 'string' && CURRENCY_CODES.has(value);
}

/**
 * Digits after the decimal point of the currency's minor unit (its ISO 4217 exponent):
 * 0 for KRW and JPY, 2 for EUR and USD, 3 for BHD. Money in boxoffice is an integer count of
 * these minor units.
 */
export function minorUnitDigits(currency: string): number {
  return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 0;
}
