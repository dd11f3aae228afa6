import { buildMessage, ValidateBy, ValidationOptions } from 'class-validator';

/**
 * The length of `text` in Unicode code points (a surrogate pair is one), as PostgreSQL counts a
 * `varchar(n)` and JSON Schema a `maxLength`.
 */
export function codePointLength(text: string): number {
  let length = text.length;
  for (let i = 0; i < text.length - 1; i += 1) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        length -= 1;
        i += 1;
      }
    }
  }
  return length;
}

/*
 * Why not class-validator's own MinLength and MaxLength: they count with validator.js `isLength`,
 * which leaves out the emoji presentation selectors U+FE0E and U+FE0F, so 200 × "❤️" passed a
 * limit of 200 and PostgreSQL refused its 400 characters with a 500. These count as the column
 * and the OpenAPI document do, keep class-validator's constraint names and messages, and keep its
 * decorator names so that Swagger's compiler plugin (which matches decorators by name) still
 * writes `minLength` and `maxLength` into the document. ESLint refuses class-validator's own in apps.
 */

/**
 * At least `min` code points (see {@link codePointLength}); anything but a string is refused. An
 * empty value is told `<field> must not be blank`: a free-text field is trimmed before it is
 * checked (FreeText, MailedToken), so white space alone arrives here empty, and "must be longer
 * than or equal to 1 characters" would answer two spaces sent as if nothing had been.
 */
export function MinLength(min: number, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'minLength',
      constraints: [min],
      validator: {
        validate: (value: unknown) => typeof value === 'string' && codePointLength(value) >= min,
        defaultMessage: buildMessage(
          (eachPrefix, args) =>
            args?.value === ''
              ? `${eachPrefix}$property must not be blank`
              : `${eachPrefix}$property must be longer than or equal to $constraint1 characters`,
          options,
        ),
      },
    },
    options,
  );
}

/** At most `max` code points (see {@link codePointLength}); anything but a string is refused. */
export function MaxLength(max: number, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'maxLength',
      constraints: [max],
      validator: {
        validate: (value: unknown) => typeof value === 'string' && codePointLength(value) <= max,
        defaultMessage: buildMessage(
          (eachPrefix) => `${eachPrefix}$property must be shorter than or equal to $constraint1 characters`,
          options,
        ),
      },
    },
    options,
  );
}
