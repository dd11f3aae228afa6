import { ApiProperty } from '@nestjs/swagger';

/** How each kind of answer words a `rowLabel`: a listing's labels may be generated. */
const ROW_LABEL_WORDING = {
  listing: `What tickets and the hall call the row: "A" for row 1, "AA" for row 27 when generated, or the admin's own.`,
  booking: `What the ticket and the hall call the row: "A" for row 1, "AA" for row 27, or the admin's own.`,
};

/**
 * The `row` of a seat or a seat-map row in an answer, documented once: the row's order in its
 * section, an integer from 1; with `example` where the answer shows one.
 */
export function RowProperty(example?: number): PropertyDecorator {
  return ApiProperty({
    type: 'integer',
    description: 'Orders the rows of the section, from 1.',
    ...(example === undefined ? {} : { example }),
  });
}

/**
 * The `rowLabel` of a seat or a seat-map row in an answer, documented once: a string of at most
 * 10 characters (ROW_LABEL_PATTERN), worded for a `listing` (the seats, the seat map) or a
 * `booking` (holds, purchases, tickets).
 */
export function RowLabelProperty(wording: keyof typeof ROW_LABEL_WORDING): PropertyDecorator {
  return ApiProperty({ description: ROW_LABEL_WORDING[wording], example: 'C', maxLength: 10 });
}
