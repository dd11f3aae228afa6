/**
 * What section names, grades and row labels may hold: letters with their combining marks (Thai,
 * Devanagari and other scripts write vowels and tones as marks: `ที่นั่ง`, `बालकनी`), digits,
 * spaces, `_` and `-` (row labels also `.`), but no default-ignorable code point (variation
 * selectors, the combining grapheme joiner, Hangul fillers): those draw nothing, so `Floor` and
 * `Floor` + U+FE0F would be two sections no reader tells apart. Lengths count code points. Used
 * at creation and by every lookup, so a name that could not be created names no section.
 */
export const SECTION_NAME_PATTERN = /^(?!.*\p{Default_Ignorable_Code_Point})[\p{L}\p{M}\p{N} _-]{1,50}$/u;
export const GRADE_PATTERN = /^(?!.*\p{Default_Ignorable_Code_Point})[\p{L}\p{M}\p{N} _-]{1,20}$/u;
export const ROW_LABEL_PATTERN = /^(?!.*\p{Default_Ignorable_Code_Point})[\p{L}\p{M}\p{N} ._-]{1,10}$/u;
