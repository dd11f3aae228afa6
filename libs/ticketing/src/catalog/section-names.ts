import { foldCase } from '@app/core';

/**
 * Section names are unique within a performance as a reader tells them apart, and every lookup by
 * name (a section's price change, best-available `section`, the seat page filter, the sales
 * reports' sections) finds a section the same way; the name shown stays as the admin wrote it.
 * Grades are compared the same way (gradeKey): `VIP` and `vip` are one grade.
 */

/** Folded names kept for the seat filter, which folds the section of every seat it examines. */
const FOLDED_KEPT = 10_000;
const folded = new Map<string, string>();

/**
 * The form section names are compared in: compatibility forms folded (NFKC: a fullwidth `Ａ` is
 * `A`), fully case-folded (`foldCase`: `Straße`/`STRASSE`, `Ön Sıra`/`ÖN SIRA`, a final `ς`/`Σ`
 * alike), trimmed, runs of white space as one space, so `A`/`A `/`a`/`Ａ` and `A B`/`A  B` are one
 * name. Look-alikes across scripts (Latin `A`, Cyrillic `А`) stay apart.
 */
export function sectionNameKey(name: string): string {
  let key = folded.get(name);
  if (key === undefined) {
    key = foldCase(name).trim().replace(/\s+/gu, ' ');
    if (folded.size >= FOLDED_KEPT) folded.clear();
    folded.set(name, key);
  }
  return key;
}

/**
 * The one of `names` that `requested` names (see {@link sectionNameKey}), or undefined. A name
 * written exactly so comes first: sections created before names were fully case-folded may fold
 * alike (`Straße` beside `STRASSE`), and each is still reached by its own spelling.
 */
export function findSectionName(names: readonly string[], requested: string): string | undefined {
  if (names.includes(requested)) return requested;
  const key = sectionNameKey(requested);
  return names.find((name) => sectionNameKey(name) === key);
}

/**
 * Every one of `names` that `requested` may name: the name written exactly so alone when there is
 * one, else all that fold alike (see {@link sectionNameKey}), in the order of `names`. More than
 * one means the request is ambiguous: an older performance may hold `Straße` and `STRASSE`, and
 * `strasse` names neither exactly.
 */
export function sectionNamesMatching(names: readonly string[], requested: string): string[] {
  if (names.includes(requested)) return [requested];
  const key = sectionNameKey(requested);
  return names.filter((name) => sectionNameKey(name) === key);
}

/**
 * The form grades are compared in, that of section names (sectionNameKey): `VIP`, `vip` and
 * `ＶＩＰ` are one grade wherever one is looked up (best-available `grade`, the seat page filter).
 */
export function gradeKey(grade: string): string {
  return sectionNameKey(grade);
}
