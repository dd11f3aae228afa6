import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findSectionName, gradeKey, sectionNameKey } from './section-names';

describe('sectionNameKey', () => {
  it.each([
    ['A', 'a'],
    [' A  B ', 'A B'],
    ['Ａ', 'a'],
    ['Straße', 'STRASSE'],
    ['STRAẞE', 'strasse'],
    ['ΟΔΥΣΣΕΑΣ', 'οδυσσεας'],
    ['Ön Sıra', 'ÖN SIRA'],
    ['Cafe\u0301', 'CAFÉ'],
    ['ที่นั่ง', 'ที่นั่ง'],
  ])('%s and %s are one name', (a, b) => {
    expect(sectionNameKey(a)).toBe(sectionNameKey(b));
  });

  it.each([
    ['A', 'А'], // Latin and Cyrillic look-alikes
    ['Floor', 'Floor 1'],
    ['बालकनी', 'बालकन'],
  ])('%s and %s stay apart', (a, b) => {
    expect(sectionNameKey(a)).not.toBe(sectionNameKey(b));
  });

  it('keeps the key a plain lower-case name had', () => {
    expect(sectionNameKey('  Balcony   Left ')).toBe('balcony left');
  });

  it('finds a section by any casing, grades alike', () => {
    expect(findSectionName(['Straße', 'Floor'], 'STRASSE')).toBe('Straße');
    expect(findSectionName(['Ön Sıra'], 'ön sira')).toBe('Ön Sıra');
    expect(findSectionName(['Floor'], 'Balcony')).toBeUndefined();
    // Made before the full fold, two names may fold alike: each is found by its own spelling.
    expect(findSectionName(['Straße', 'STRASSE'], 'STRASSE')).toBe('STRASSE');
    expect(findSectionName(['Straße', 'STRASSE'], 'Straße')).toBe('Straße');
    expect(gradeKey('VİP')).toBe(gradeKey('vi\u0307p'));
  });

  it('gives every case and spacing variant of a name its key, and a key is its own key (property)', () => {
    const char = fc.oneof(
      fc.constantFrom(...'aBcXyZßẞſKİıiIΣσςΟΔΥΕΑοδυεαДжЖǅǄǆﬀﬁŉÅåÆæ0123456789_-'),
      fc.constantFrom('ท', 'ี', '่', 'น', 'ั', 'บ', 'ा', 'ल', 'क', 'न', 'ी', 'e\u0301', '\u0345', 'ᾼ'),
      fc.constantFrom(' ', '  '),
    );
    fc.assert(
      fc.property(
        fc.array(char, { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 8 }),
        (chars, choices) => {
          // Case changed on the decomposed text, as foldCase explains (U+0345 moves marks otherwise).
          const name = chars.join('').normalize('NFKD');
          const variant = [...name]
            .map((c, i) => {
              const choice = choices.length === 0 ? 0 : choices[i % choices.length];
              return choice === 0 ? c : choice === 1 ? c.toUpperCase() : c.toLowerCase();
            })
            .join('');
          const key = sectionNameKey(name);
          expect(sectionNameKey(variant)).toBe(key);
          expect(sectionNameKey(` ${name.replace(/ /gu, '   ')} `)).toBe(key);
          expect(sectionNameKey(key)).toBe(key);
        },
      ),
      { numRuns: 500 },
    );
  });
});
