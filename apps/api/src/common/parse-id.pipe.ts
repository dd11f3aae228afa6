import { ArgumentMetadata, BadRequestException, Injectable, Param, PipeTransform } from '@nestjs/common';
import { ApiParam } from '@nestjs/swagger';
import { isUuid, MAX_INT4 } from '@app/core';
import { isCanonicalInteger } from './canonical-integer';

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
      Number(value) > MAX_INT4
    ) {
      throw new BadRequestException([`id must be an integer from 1 to ${MAX_INT4} in decimal digits, such as 42`]);
    }
    return Number(value);
  }
}

/**
 * The route parameter `id` through ParseIdPipe, declared in the OpenAPI document as what the pipe
 * takes: Swagger would read the handler's `number` as `type: number`, and an id is an integer.
 */
export function IdParam(): ParameterDecorator {
  return (target, key, index) => {
    Param('id', ParseIdPipe)(target, key, index);
    if (key === undefined) return;
    ApiParam({ name: 'id', schema: { type: 'integer', minimum: 1, maximum: MAX_INT4 } })(
      target,
      key,
      Object.getOwnPropertyDescriptor(target, key)!,
    );
  };
}

/**
 * A UUID route parameter in the one spelling ids are stored in, lower case: UUIDs are
 * case-insensitive (RFC 4122), so an upper-case id names the same hold or purchase. Anything that
 * is not a UUID in its 36-character text form (8-4-4-4-12 hex digits) is a 400 naming the
 * parameter, as ParseIdPipe's: braces (`{…}`), `urn:uuid:`, no hyphens, white space around it.
 * So every id has one string, the one Redis keys and caches are built from.
 */
@Injectable()
export class ParseUuidPipe implements PipeTransform<unknown, string> {
  transform(value: unknown, metadata: ArgumentMetadata): string {
    if (!isUuid(value)) {
      throw new BadRequestException([
        `${metadata.data ?? 'id'} must be a UUID, such as 3f8e2b64-2f1a-4c8e-9a57-0c1d2e3f4a5b`,
      ]);
    }
    return value.toLowerCase();
  }
}

/**
 * The UUID route parameter `name` through ParseUuidPipe, declared in the OpenAPI document as
 * what the pipe takes (`type: string, format: uuid`), so a client, and the document-driven fuzz
 * test, know it for a UUID rather than any string.
 */
export function UuidParam(name = 'id'): ParameterDecorator {
  return (target, key, index) => {
    Param(name, new ParseUuidPipe())(target, key, index);
    if (key === undefined) return;
    ApiParam({ name, schema: { type: 'string', format: 'uuid' } })(
      target,
      key,
      Object.getOwnPropertyDescriptor(target, key)!,
    );
  };
}

/** The largest ticket id: PostgreSQL's `bigint`, 2^63 - 1. */
const MAX_TICKET_ID = 2n ** 63n - 1n;

/**
 * A ticket id in a path (`:ticketId`): a positive bigint in canonical decimal digits (no sign,
 * leading zero, exponent or spaces), at most 2^63 - 1, kept as its decimal string. Anything else is
 * a 400 naming the parameter.
 */
@Injectable()
export class ParseTicketIdPipe implements PipeTransform<unknown, string> {
  transform(value: unknown, metadata: ArgumentMetadata): string {
    if (typeof value !== 'string' || !/^[1-9][0-9]{0,18}$/.test(value) || BigInt(value) > MAX_TICKET_ID) {
      throw new BadRequestException([
        `${metadata.data ?? 'id'} must be a ticket id: an integer from 1 to ${MAX_TICKET_ID} in decimal digits, such as 1024`,
      ]);
    }
    return value;
  }
}
