import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsString, ValidateBy } from 'class-validator';

/**
 * Characters no free text of the API may hold: controls (Cc: NUL, ESC, DEL, C1 …), format
 * characters (Cf: the bidi controls U+202A–U+202E, U+2066–U+2069, U+200E/U+200F, U+061C, the zero
 * widths U+200B–U+200D and U+2060, the BOM U+FEFF, soft hyphen, tags …), lone surrogates (Cs), the
 * line/paragraph separators U+2028/U+2029, the other characters Unicode says to draw as nothing
 * (Default_Ignorable_Code_Point: the Hangul fillers U+115F, U+1160, U+3164, U+FFA0, the combining
 * grapheme joiner U+034F …; the variation selectors that pick an emoji's look stay allowed), the
 * braille blank U+2800, and a combining mark with nothing before it to combine with. They are
 * invisible or reorder what is shown, so a title could read one way in an e-mail and another in
 * the data, a name could look empty, and two names could look alike. `multiline` text (a
 * description) may still hold tab, line feed and carriage return.
 */
const INVISIBLE = String.raw`[\p{Cs}\p{Zl}\p{Zp}\u2800]|(?![\uFE00-\uFE0F\u{E0100}-\u{E01EF}])[\p{Cf}\p{Default_Ignorable_Code_Point}]|^\p{M}`;
const FORBIDDEN = new RegExp(String.raw`\p{Cc}|${INVISIBLE}`, 'u');
const FORBIDDEN_MULTILINE = new RegExp(String.raw`(?![\t\n\r])\p{Cc}|${INVISIBLE}`, 'u');

/**
 * The one spelling of a free-text value: Unicode NFC, without leading or trailing white space
 * (`String.prototype.trim`: spaces of every script, tabs, line ends, U+FEFF). Names compared for
 * uniqueness (section names of a performance) are compared in this form, so `A` and `A ` are one name.
 * Anything but a string is returned as it came, for the type check to refuse.
 */
export function normalizeFreeText(value: unknown): unknown {
  // A lone surrogate survives normalize(); it is refused by FORBIDDEN after.
  return typeof value === 'string' ? value.normalize('NFC').trim() : value;
}

/** The first forbidden character of `text` (see FORBIDDEN) as `U+XXXX at position n` (0-based), or null. */
export function forbiddenCharacter(text: string, multiline = false): string | null {
  const match = (multiline ? FORBIDDEN_MULTILINE : FORBIDDEN).exec(text);
  if (!match) return null;
  const code = match[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
  return `U+${code} at position ${match.index}`;
}

export interface FreeTextOptions {
  /** Tab, line feed and carriage return allowed inside (a description); default false. */
  multiline?: boolean;
}

/**
 * The rule for every free-text field of the API (titles, venues, section and grade names, display
 * names, search text): the value is normalised by {@link normalizeFreeText} (NFC, trimmed) before
 * it is checked and handed on, then must be a string with no control, bidi, invisible format or
 * separator character (a 400 naming the field and the character, e.g. `title must not contain
 * control, bidirectional or invisible format characters (U+202E at position 4)`). Its length goes
 * beside it as `@MinLength`/`@MaxLength` (they see the normalised value; written out, Swagger's
 * plugin puts them into the OpenAPI document); `@MinLength(1)` refuses white space alone as `<field> must not be blank`.
 * Combine with `@IsOptional()` / `@ValidateIf` for an optional field, and with `@Matches` for a
 * narrower alphabet (the pattern then sees the normalised value too).
 */
export function FreeText({ multiline = false }: FreeTextOptions = {}): PropertyDecorator {
  return applyDecorators(
    Transform(({ value }: { value: unknown }) => normalizeFreeText(value)),
    IsString(),
    ValidateBy({
      name: 'freeText',
      validator: {
        validate: (value: unknown) => typeof value !== 'string' || forbiddenCharacter(value, multiline) === null,
        defaultMessage: (args) =>
          `${args?.property} must not contain control, bidirectional or invisible format characters (${forbiddenCharacter(String(args?.value), multiline)})`,
      },
    }),
  );
}

/**
 * A compiled-schema pattern (see CompiledSchema) for an ASCII name of 1–`maxLength` letters,
 * digits, spaces, `_` or `-` with no space at either end: such a value is already in the form
 * {@link FreeText} makes (NFC, trimmed), so the fast path may hand it on as it came.
 */
export function asciiNamePattern(maxLength: number): string {
  return `^(?! )[A-Za-z0-9 _-]{1,${maxLength}}(?<! )$`;
}
