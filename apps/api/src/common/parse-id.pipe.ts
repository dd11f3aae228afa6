import { BadRequestException, Injectable, PipeTransform } from '@nestjs/common';
import { isCanonicalInteger } from './canonical-integer';

const MAX_ID = 2_147_483_647;

/**
 * Route ids are positive 32-bit integers in canonical decimal (no sign, leading zero, exponent,
 * hex or spaces; see CANONICAL_INTEGER); anything else is a 400 before it reaches a query.
 */
@Injectable()
export class ParseIdPipe implements PipeTransform<unknown, number> {
  transform(value: unknown): number {
    if (
      typeof value !== 'string' ||
      value.length > 10 ||
      !isCanonicalInteger(value) ||
      Number(value) < 1 ||
      Number(value) > MAX_ID
    ) {
      throw new BadRequestException(['id must be a positive integer in decimal digits, such as 42']);
    }
    return Number(value);
  }
}
