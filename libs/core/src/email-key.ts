/**
 * The key an e-mail address is unique by, and looked up by: the address in Unicode NFKC (a
 * fullwidth "ａ" is "a", the ligature "ﬀ" is "ff"), then fully case-folded, then NFKC again, then
 * trimmed (last, because NFKC may write a space: the Arabic ligature "ﱞ" is " ٌّ").
 * Two addresses that differ only in letter case have the same key: "ß", "ẞ" and "SS" are all
 * "ss"; "Σ", "σ" and the final "ς" are all "σ"; the Turkish "İ" is "i" with a combining dot above
 * (which an account's address may not hold) and the dotless "ı" is "i".
 *
 * JavaScript has no case-folding function: lower-casing alone keeps "ß" and "ς", and applies the
 * final-sigma rule ("ΟΔΥΣΣΕΑΣ1" becomes "οδυσσεας1", "οδυσσεασ1" stays). Lower-, upper-, then
 * lower-casing folds every letter whose case variants upper-case alike (the upper-casing expands
 * "ß" to "SS"; the first lower-casing turns "ẞ" into "ß" for it), and the final "ς" the last
 * lower-casing may write is put back to "σ". Keys are compared, never shown: an account keeps the
 * address as its owner typed it (see `normalizeEmail` in libs/auth).
 */
export function emailKey(email: string): string {
  return email.normalize('NFKC').toLowerCase().toUpperCase().toLowerCase().normalize('NFKC').replace(/ς/gu, 'σ').trim();
}
