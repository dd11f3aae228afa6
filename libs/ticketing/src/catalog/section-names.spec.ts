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
    expect(gradeKey('VİP')).toBe(gradeKey('vi\u0307p'));
  });
});
