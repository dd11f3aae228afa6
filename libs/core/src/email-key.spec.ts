import { domainToASCII } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emailKey } from './email-key';

/** Each code point of `text` upper-cased, lower-cased or kept, as `choices` says (cycled). */
function caseVariant(text: string, choices: number[]): string {
  return [...text]
    .map((char, i) => {
      const choice = choices.length === 0 ? 0 : choices[i % choices.length];
      return choice === 0 ? char : choice === 1 ? char.toUpperCase() : char.toLowerCase();
    })
    .join('');
}

/** Letters of scripts with case, including the ones lower-casing alone gets wrong. */
const CASED = fc.constantFrom(...'aBcXyZßẞſKİıiIΣσςΟΔΥΕΑοδυεαДжЖǅǄǆﬀﬁŉΐÅåÆæ');

describe('emailKey', () => {
  it.each([
    ['ΟΔΥΣΣΕΑΣ1@example.com', 'οδυσσεασ1@example.com'],
    ['Σ1Σ@example.com', 'σ1ς@example.com'],
    ['ß@example.com', 'SS@example.com'],
    ['ẞ@example.com', 'ss@example.com'],
    ['ﬀ@example.com', 'FF@example.com'],
    ['ſ@example.com', 'S@example.com'],
    ['K@example.com', 'k@example.com'],
    [' Ada@Example.COM ', 'ada@example.com'],
    ['ａｄａ@example.com', 'ADA@example.com'],
  ])('gives %s and %s one key', (a, b) => {
    expect(emailKey(a)).toBe(emailKey(b));
  });

  it('trims the spaces NFKC writes, so a key is its own key', () => {
    expect(emailKey('\u{FC5E}@example.com')).toBe('\u{64C}\u{651}@example.com');
    expect(emailKey(emailKey('\u{FC5E}@example.com'))).toBe(emailKey('\u{FC5E}@example.com'));
  });

  it('folds case without moving a mark: an address with the iota subscript has the key of its lower case', () => {
    expect(emailKey('\u1FBC\u0342@example.com')).toBe(emailKey('\u1FB7@example.com'));
    expect(emailKey('\u1F80\u0302@example.com')).toBe(emailKey('\u1F88\u0302@example.com'));
  });

  it('keeps apart addresses that differ in more than case', () => {
    expect(emailKey('ada@example.com')).not.toBe(emailKey('adb@example.com'));
    expect(emailKey('σ@example.com')).not.toBe(emailKey('s@example.com'));
    expect(emailKey('é@example.com')).not.toBe(emailKey('e@example.com'));
  });

  it('keys a domain by its DNS name (IDNA), not its case fold: a look-alike domain is another owner (generated)', () => {
    const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/);
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z0-9._-]{1,12}$/),
        fc.array(label, { minLength: 1, maxLength: 3 }),
        fc.constantFrom('com', 'de', 'example', 'test'),
        fc.nat(),
        fc.constantFrom<[string, string]>(['i', '\u0131'], ['ss', '\u00df'], ['ss', 'SS']),
        (local, labels, tld, pick, [from, to]) => {
          const domain = [...labels, tld].join('.');
          const ascii = `${local}@${domain}`;
          const spots = [...domain.matchAll(new RegExp(from, 'g'))].map((match) => match.index);
          fc.pre(spots.length > 0);
          const spot = spots[pick % spots.length];
          const other = `${local}@${domain.slice(0, spot)}${to}${domain.slice(spot + from.length)}`;
          if (to === 'SS') expect(emailKey(other)).toBe(emailKey(ascii));
          else expect(emailKey(other)).not.toBe(emailKey(ascii));
          // The key of a Unicode domain is the key of its A-label, and its own key; a domain IDNA
          // refuses (a drawn label "xn--0" is no A-label) has none and is keyed lower-cased.
          const aLabel = domainToASCII(other.slice(other.lastIndexOf('@') + 1));
          expect(emailKey(other)).toBe(aLabel === '' ? other.toLowerCase() : emailKey(`${local}@${aLabel}`));
          expect(emailKey(emailKey(other))).toBe(emailKey(other));
        },
      ),
      // Met by a hunt of 10,000 runs (seed 301265631): a drawn label IDNA refuses, rarely drawn.
      { numRuns: 500, examples: [['_', ['ia', 'xn--0'], 'com', 0, ['i', '\u0131']]] },
    );
    expect(emailKey('alice@gma\u0131l.com')).toBe('alice@xn--gmal-nza.com');
    expect(emailKey('Alice@GMAIL.com')).toBe('alice@gmail.com');
    expect(emailKey('STRASSE@straße.de')).toBe(emailKey('straße@xn--strae-oqa.de'));
  });

  it('keys a domain IDNA refuses apart from every domain it accepts, and as its own key (generated)', () => {
    expect(emailKey('0@xn--\u0131a.com')).not.toBe(emailKey('0@xn--ia.com'));
    const piece = fc.constantFrom(
      ...'abikxsz09-.',
      'xn--',
      'ia',
      '\u0131',
      '\u0130',
      '\u00df',
      'ẞ',
      '\u212a',
      'ｇ',
      'é',
      'Σ',
      '\u0307',
    );
    fc.assert(
      fc.property(
        fc.array(piece, { minLength: 1, maxLength: 12 }),
        fc.constantFrom('com', 'XN--IA', 'de'),
        (pieces, tld) => {
          const address = `0@${pieces.join('')}.${tld}`;
          const key = emailKey(address);
          expect(emailKey(key)).toBe(key);
          const keyDomain = key.slice(key.lastIndexOf('@') + 1);
          const accepted = domainToASCII(address.normalize('NFKC').slice(2)) !== '';
          // An accepted domain is keyed by ASCII that IDNA keeps as it is; a refused one never is.
          expect(domainToASCII(keyDomain) === keyDomain).toBe(accepted);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('gives every case variant of any Unicode address the key of the address, and is its own fold', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }),
        fc.string({ unit: fc.oneof(CASED, fc.constantFrom(...'0123456789._-')), minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 8 }),
        (any, cased, choices) => {
          for (const local of [any, cased, any + cased]) {
            // Case variants of the decomposed text (NFKD): upper-casing U+0345 (alone, or in "ᾀ",
            // "ᾼ") writes a letter Ι, and a mark after it ("\u0345\u0300" → "Ὶ") is then the iota's.
            const address = `${local}@Example.com`.normalize('NFKD');
            const key = emailKey(address);
            expect(emailKey(caseVariant(address, choices))).toBe(key);
            expect(emailKey(address.toUpperCase())).toBe(key);
            expect(emailKey(address.toLowerCase())).toBe(key);
            expect(emailKey(key)).toBe(key);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
