import { buildMessage, ValidateBy, ValidationOptions } from 'class-validator';
import { parseDateTime } from '@app/ticketing';

/** An RFC 3339 date-time with an explicit offset (see `parseDateTime`); the message names the field. */
export function IsDateTime(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isDateTime',
      validator: {
        validate: (value: unknown) => parseDateTime(value) !== null,
        defaultMessage: buildMessage(
          (each) =>
            `${each}$property must be an RFC 3339 date-time with an explicit offset, e.g. 2027-03-01T19:00:00+09:00 or 2027-03-01T10:00:00Z`,
          options,
        ),
      },
    },
    options,
  );
}
