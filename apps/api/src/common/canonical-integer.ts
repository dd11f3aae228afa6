import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsOptional, ValidateBy } from 'class-validator';
import { MAX_INT4 } from '@app/core';

/**
 * A whole number as the API accepts it in a path or a query string: decimal digits only, no
 * sign, no leading zero (except "0" itself), no spaces, no exponent, fraction, hex, binary or
 * octal spelling. `Number()` reads all of those (`0x10`, `1e2`, ` 5`, `+2`, `02`, `2.0`), so one
 * resource would answer under many names; only this spelling is its name.
 */
export const CANONICAL_INTEGER = /^(?:0|[1-9][0-9]*)$/;

/** True when `text` is the canonical decimal spelling of a whole number (see CANONICAL_INTEGER). */
export function isCanonicalInteger(text: string): boolean {
  return CANONICAL_INTEGER.test(text);
}

/**
 * An integer query parameter from `min` to `max`: a canonical decimal string (see
 * CANONICAL_INTEGER) becomes a number; any other spelling, or a number out of range, is a 400
 * with one message saying how to write it.
 */
export function IntegerQuery(min: number, max: number): PropertyDecorator {
  return applyDecorators(
    Transform(({ value }: { value: unknown }) =>
      typeof value === 'string' && isCanonicalInteger(value) ? Number(value) : value,
    ),
    ValidateBy({
      name: 'isIntegerQuery',
      constraints: [min, max],
      validator: {
        validate: (value: unknown) =>
          typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max,
        defaultMessage: (args) =>
          `${args?.property ?? 'value'} must be a whole number from ${min} to ${max} in decimal digits only (no sign, leading zero, exponent or spaces)`,
      },
    }),
  );
}

/**
 * An optional query filter by the id of a row (an INT4 key: 1 to MAX_INT4): documented with
 * `description` as an integer with those bounds, read as IntegerQuery reads it.
 */
export function OptionalIdQuery(description: string): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({ description, type: 'integer', minimum: 1, maximum: MAX_INT4 }),
    IsOptional(),
    IntegerQuery(1, MAX_INT4),
  );
}
