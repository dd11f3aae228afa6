import { buildMessage, ValidateBy, ValidationOptions } from 'class-validator';
import { parseDateTime, parseScheduleTime, scheduleWindowMessage } from '@app/ticketing';

const DATE_TIME_MESSAGE =
  'must be an RFC 3339 date-time with an explicit offset, e.g. 2027-03-01T19:00:00+09:00 or 2027-03-01T10:00:00Z';

/** An RFC 3339 date-time with an explicit offset (see `parseDateTime`); the message names the field. */
export function IsDateTime(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isDateTime',
      validator: {
        validate: (value: unknown) => parseDateTime(value) !== null,
        defaultMessage: buildMessage((each) => `${each}$property ${DATE_TIME_MESSAGE}`, options),
      },
    },
    options,
  );
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
