import { describe, expect, it } from 'vitest';
import {
  numbersNotDecimal,
  OpenApiDocument,
  successesWithoutSchema,
  timesWithoutDateTime,
  typedValues,
} from './openapi-types';

const document: OpenApiDocument = {
  components: {
    schemas: {
      ThingDto: {
        type: 'object',
        properties: {
          id: { type: 'number' },
          x: { type: 'number' },
          count: { type: 'integer' },
          createdAt: { type: 'string' },
          startsAtLocal: { type: 'string', example: '2027-03-01T19:30:00+09:00' },
          when: { type: 'string', description: 'RFC 3339 with offset.' },
          stamp: { type: 'string', example: '2026-11-25T12:00:00.000Z' },
          updatedAt: { type: 'string', format: 'date-time' },
          name: { type: 'string', example: 'A' },
          seatIds: { type: 'array', items: { type: 'number' } },
          nested: { type: 'object', properties: { closedAt: { type: 'string' } } },
        },
      },
    },
  },
  paths: {
    '/things/{id}': {
      get: {
        parameters: [{ name: 'id', in: 'path', schema: { type: 'number' } }],
        responses: { '200': { content: { 'application/json': { schema: {} } } }, '404': {} },
      },
      delete: { responses: { '204': {} } },
      post: { responses: { '201': {} } },
    },
  },
};

describe('OpenAPI type checks', () => {
  const values = typedValues(document);

  it('flags every string that carries a time without format date-time, nested ones too, and honours exceptions', () => {
    expect(timesWithoutDateTime(values).sort()).toEqual([
      'ThingDto.createdAt',
      'ThingDto.nested.closedAt',
      'ThingDto.stamp',
      'ThingDto.startsAtLocal',
      'ThingDto.when',
    ]);
    expect(timesWithoutDateTime(values, new Set(['ThingDto.when']))).not.toContain('ThingDto.when');
  });

  it('flags every number not listed as a decimal: properties, array items and parameters', () => {
    expect(numbersNotDecimal(values, new Set(['ThingDto.x'])).sort()).toEqual([
      'GET /things/{id} path:id',
      'ThingDto.id',
      'ThingDto.seatIds[]',
    ]);
  });

  it('flags a success answer without a schema, but not a 204 or an error', () => {
    expect(successesWithoutSchema(document)).toEqual(['POST /things/{id} 201']);
  });
});
