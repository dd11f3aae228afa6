import { domainToASCII } from 'node:url';

/**
 * The key an e-mail address is unique by, and looked up by: the address decomposed (NFKD: a
 * fullwidth "ａ" is "a", the ligature "ﬀ" is "ff"), fully case-folded, composed again (NFKC), then
 * trimmed (last, because NFKC may write a space: the Arabic ligature "ﱞ" is " ٌّ"). The case is
 * changed on decomposed text (Unicode's caseless match, D145, folds NFD text) so that no case
 * mapping moves a mark: upper-casing the iota subscript U+0345 writes a letter "Ι", and "ᾼ͂" and its
 * lower case "ᾷ" then differed. For an address with no combining mark once normalized (all that
 * accounts may hold) the key is the one composing first gave, so no stored key changes.
 * That is the local part's key; the domain's is its IDNA form (see `domainKey`), for domains are
 * DNS names: "gmaıl.com" is not "gmail.com". Two addresses whose local parts differ only in
 * letter case have the same key: "ß", "ẞ" and "SS" are all
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
  const address = email.normalize('NFKC').trim();
  const at = address.lastIndexOf('@');
  if (at < 0) return foldCase(address).trim();
  return `${foldCase(address.slice(0, at))}@${domainKey(address.slice(at + 1))}`.trim();
}

/**
 * The domain of an address as the DNS names it: its IDNA form (UTS #46, nontransitional, as
 * `domainToASCII` gives it: ASCII letters lower-cased, a Unicode label as its `xn--` A-label), not
 * its case fold. Full case folding merges domains that are different names, and so different
 * owners: "gmaıl.com" (a dotless ı) folded is "gmail.com", "straße.de" folded is "strasse.de"; the
 * owner of the one would have the account of every address at the other. A domain IDNA refuses
 * keeps its letters, lower-cased only: folded, "xn--ıa.com" (refused, a dotless ı in an A-label)
 * would be "xn--ia.com", a name IDNA accepts and so another owner's. Once NFKC has run (it makes
 * the Kelvin sign "K" a "K"), lower-casing keeps a non-ASCII domain non-ASCII, and IDNA refuses an
 * ASCII domain in any case; so such a key is never the key of a domain IDNA accepts (ASCII that
 * IDNA accepts).
 */
function domainKey(domain: string): string {
  return domainToASCII(domain) || domain.toLowerCase();
}

/**
 * `text` compatibility-decomposed, fully case-folded and composed again (NFKC), as `emailKey`
 * explains; not trimmed. "Straße", "STRASSE" and "strasse" fold alike, as do "ΟΔΥΣΣΕΑΣ" and
 * "οδυσσεασ", and "Ön Sıra" and "ÖN SIRA". Section names and grades are compared in it too.
 */
export function foldCase(text: string): string {
  return text
    .normalize('NFKD')
    .toLowerCase()
    .normalize('NFKD')
    .toUpperCase()
    .toLowerCase()
    .normalize('NFKC')
    .replace(/ς/gu, 'σ');
}
