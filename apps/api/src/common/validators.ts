import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { buildMessage, IsInt, Max, Min, ValidateBy, ValidationArguments, ValidationOptions } from 'class-validator';
import { parseDateTime, parseScheduleTime, scheduleWindowMessage } from '@app/ticketing';

const DATE_TIME_MESSAGE =
  'must be an RFC 3339 date-time with an explicit offset, e.g. 2027-03-01T19:00:00+09:00 or 2027-03-01T10:00:00Z';

/**
 * A required integer field of a body from `min` to `max` (inclusive): validated by IsInt, Min and
 * Max and documented as an integer with those bounds (the Swagger CLI plugin reads bounds only
 * from decorators written on the property itself).
 */
export function IntegerField(min: number, max: number, format?: 'int64'): PropertyDecorator {
  // In the order of `@ApiProperty @IsInt @Min @Max` on a property (applied bottom-up), which is
  // the order of a 400's messages.
  return applyDecorators(
    Max(max),
    Min(min),
    IsInt(),
    ApiProperty({ type: 'integer', ...(format ? { format } : {}), minimum: min, maximum: max }),
  );
}

/**
 * How the document types money (see README "Money"): a whole number of minor units, 64-bit. A
 * plain `integer` is read as 32-bit by generated Java and C# clients, and sums pass 2^31 − 1
 * (KRW revenue of 2,800,000,000), so every price, amount and revenue says `int64`.
 */
export const MONEY_SCHEMA = { type: 'integer', format: 'int64' } as const;

/**
 * A required money field of a body, in minor units from `min` to `max`: IntegerField documented
 * as int64 (MONEY_SCHEMA). The property's docstring names the unit.
 */
export function MoneyField(min: number, max: number): PropertyDecorator {
  return IntegerField(min, max, MONEY_SCHEMA.format);
}

/** A money value of an answer, in minor units, documented as MONEY_SCHEMA; its docstring names the unit. */
export function MoneyProperty(): PropertyDecorator {
  return ApiProperty(MONEY_SCHEMA);
}

/**
 * The options of ArrayMinSize / ArrayMaxSize whose 400 message reads as English ("rows must have
 * at least 1 item", "seatIds must have at most 100 items"; class-validator's own say "must
 * contain at least 1 elements"). The decorators stay on the property, where the Swagger CLI
 * plugin reads minItems and maxItems: `@ArrayMinSize(1, itemsAtLeast(1))`.
 */
export function itemsAtLeast(count: number): ValidationOptions {
  return { message: (args: ValidationArguments) => itemCountMessage(args.property, 'at least', count) };
}

/** See {@link itemsAtLeast}: `@ArrayMaxSize(100, itemsAtMost(100))`. */
export function itemsAtMost(count: number): ValidationOptions {
  return { message: (args: ValidationArguments) => itemCountMessage(args.property, 'at most', count) };
}

function itemCountMessage(property: string, bound: 'at least' | 'at most', count: number): string {
  return `${property} must have ${bound} ${count.toLocaleString('en-US')} ${count === 1 ? 'item' : 'items'}`;
}

/**
 * A time query parameter: an RFC 3339 date-time with an explicit offset (see `parseDateTime`);
 * the message names the field. A query string reads a raw `+` as a space, so a value that would
 * be one with a `+` where its offset's sign stands (`2027-03-01T00:00:00 09:00`) is told to send
 * the `+` as `%2B` rather than shown the very format it was sent in.
 */
export function IsDateTime(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isDateTime',
      validator: {
        validate: (value: unknown) => parseDateTime(value) !== null,
        defaultMessage: buildMessage(
          (each, args) =>
            spaceForPlus(args?.value) === null
              ? `${each}$property ${DATE_TIME_MESSAGE}`
              : `${each}$property has a space where its offset's sign should be: a + in a query string reads as a space, so send it as %2B ($property=${spaceForPlus(args?.value)})`,
          options,
        ),
      },
    },
    options,
  );
}

/** The value with `%2B` for the space before its offset when a `+` there makes it a date-time, else null. */
function spaceForPlus(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const offset = / (\d{2}:\d{2})$/.exec(value);
  if (!offset || parseDateTime(`${value.slice(0, offset.index)}+${offset[1]}`) === null) return null;
  return `${value.slice(0, offset.index)}%2B${offset[1]}`;
}

/**
 * A schedule time (performance start, sales window, cancel deadline, queue opening): an RFC 3339
 * date-time with an explicit offset (see `parseDateTime`) from 2000-01-01T00:00:00Z to
 * 2199-12-31T23:59:59.999Z (see `parseScheduleTime`). One message naming the field: the
 * date-time one for anything else, the window one for a date-time outside it.
 */
export function IsScheduleTime(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isScheduleTime',
      validator: {
        validate: (value: unknown) => parseScheduleTime(value) !== null,
        defaultMessage: buildMessage(
          (each, args) =>
            parseDateTime(args?.value) === null
              ? `${each}$property ${DATE_TIME_MESSAGE}`
              : `${each}${scheduleWindowMessage('$property')}`,
          options,
        ),
      },
    },
    options,
  );
}
