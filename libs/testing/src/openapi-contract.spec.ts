import { describe, expect, it } from 'vitest';
import { ContractDocument, OpenApiContract } from './openapi-contract';

const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
const ERROR = json({ $ref: '#/components/schemas/Error' });

/** A small document: an event by id, a search beside it, a PDF, a delete without body. */
const DOCUMENT: ContractDocument = {
  paths: {
    '/api/v1/events/{id}': {
      get: { responses: { 200: json({ $ref: '#/components/schemas/Event' }), 404: ERROR } },
      delete: { responses: { 204: {} } },
    },
    '/api/v1/events/search': {
      get: { responses: { 200: json({ type: 'array', items: { $ref: '#/components/schemas/Event' } }) } },
    },
    '/api/v1/tickets/{id}/pdf': {
      get: { responses: { 200: { content: { 'application/pdf': { schema: { type: 'string', format: 'binary' } } } } } },
    },
  },
  components: {
    schemas: {
      Event: {
        type: 'object',
        properties: {
          id: { type: 'integer' },
          name: { type: 'string' },
          startsAt: { type: 'string', format: 'date-time' },
          // A nullable named object as the api's document writes it (openapi-nullables.ts: copied in place).
          venue: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'], nullable: true },
          tags: { type: 'array', items: { $ref: '#/components/schemas/Tag' } },
          note: { type: 'string', nullable: true },
        },
        required: ['id', 'name', 'startsAt', 'venue'],
      },
      Tag: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
      Error: {
        type: 'object',
        properties: { statusCode: { type: 'integer' }, message: { type: 'string' } },
        required: ['statusCode', 'message'],
      },
    },
  },
};

const EVENT = {
  id: 7,
  name: 'Gala',
  startsAt: '2026-12-06T20:00:00.000Z',
  venue: { name: 'Hall' },
  tags: [{ name: 'jazz' }],
  note: null,
};

describe('OpenApiContract', () => {
  const contract = new OpenApiContract(DOCUMENT, { closed: true, everywhere: { 503: ERROR } });
  const get = (path: string, status: number, body: unknown, contentType = 'application/json; charset=utf-8') =>
    contract.check({ method: 'GET', path, status, contentType, body: JSON.stringify(body) });

  it('passes an answer that matches its operation, nullable values null, the query left out', () => {
    expect(get('/api/v1/events/7#top', 200, EVENT).problems).toEqual([]);
    expect(get('/api/v1/events/7?fields=all', 200, EVENT)).toEqual({
      operation: 'GET /api/v1/events/{id}',
      problems: [],
    });
    expect(get('/api/v1/events/7', 200, { ...EVENT, venue: null }).problems).toEqual([]);
    expect(get('/api/v1/events/7', 404, { statusCode: 404, message: 'no such event' }).problems).toEqual([]);
  });

  it('checks against the operation the caller names, whatever the path', () => {
    const empty = { method: 'GET', path: '/api/v1/events/', status: 404, contentType: 'application/json' };
    expect(contract.check({ ...empty, body: '{"statusCode":404,"message":"x"}' }).problems).toEqual([
      'GET /api/v1/events/: undocumented operation',
    ]);
    expect(contract.check({ ...empty, body: '{"statusCode":404,"message":"x"}' }, '/api/v1/events/{id}')).toEqual({
      operation: 'GET /api/v1/events/{id}',
      problems: [],
    });
    expect(contract.check({ ...empty, status: 409, body: '{}' }, '/api/v1/events/{id}').problems).toEqual([
      'GET /api/v1/events/{id} 409: undocumented status (documented: 200, 404)',
    ]);
  });

  it('matches a literal segment before a parameter', () => {
    expect(get('/api/v1/events/search', 200, [EVENT])).toEqual({
      operation: 'GET /api/v1/events/search',
      problems: [],
    });
    // Against the {id} operation's schema this body (an array) would fail.
    expect(contract.operationOf('GET', '/api/v1/events/search')).toBe('GET /api/v1/events/search');
  });

  it('reports a body that does not match, with the path of each error', () => {
    const { name: _omitted, ...withoutName } = EVENT;
    expect(get('/api/v1/events/7', 200, { ...withoutName, id: '7', note: 3 }).problems).toEqual([
      "GET /api/v1/events/{id} 200 application/json: body must have required property 'name'",
      'GET /api/v1/events/{id} 200 application/json: body/id must be integer',
      'GET /api/v1/events/{id} 200 application/json: body/note must be string',
    ]);
    expect(get('/api/v1/events/7', 200, { ...EVENT, name: null }).problems).toEqual([
      'GET /api/v1/events/{id} 200 application/json: body/name must be string',
    ]);
    expect(get('/api/v1/events/7', 200, { ...EVENT, venue: {}, tags: [{ name: 'jazz' }, {}] }).problems).toEqual([
      "GET /api/v1/events/{id} 200 application/json: body/venue must have required property 'name'",
      "GET /api/v1/events/{id} 200 application/json: body/tags/1 must have required property 'name'",
    ]);
  });

  it('reports a time that is not an RFC 3339 date-time', () => {
    expect(get('/api/v1/events/7', 200, { ...EVENT, startsAt: '2026-12-06 20:00' }).problems).toEqual([
      'GET /api/v1/events/{id} 200 application/json: body/startsAt must match format "date-time"',
    ]);
  });

  it('reports a property the document does not declare (closed), nested ones too', () => {
    const extra = { ...EVENT, secret: 1, venue: { name: 'Hall', x: 1 }, tags: [{ name: 'jazz', y: 2 }] };
    expect(get('/api/v1/events/7', 200, extra).problems).toEqual([
      'GET /api/v1/events/{id} 200 application/json: body must NOT have additional properties (secret)',
      'GET /api/v1/events/{id} 200 application/json: body/venue must NOT have additional properties (x)',
      'GET /api/v1/events/{id} 200 application/json: body/tags/0 must NOT have additional properties (y)',
    ]);
    // Open, the same answer passes.
    const open = new OpenApiContract(DOCUMENT);
    const answer = { method: 'GET', path: '/api/v1/events/7', status: 200, contentType: 'application/json' };
    expect(open.check({ ...answer, body: JSON.stringify({ ...EVENT, secret: 1 }) }).problems).toEqual([]);
  });

  it('reports an undocumented operation, status and content type', () => {
    expect(contract.check({ method: 'POST', path: '/api/v1/events/7', status: 201, body: '' })).toEqual({
      problems: ['POST /api/v1/events/7: undocumented operation'],
    });
    expect(get('/api/v1/events/7/extra', 200, EVENT).problems).toEqual([
      'GET /api/v1/events/7/extra: undocumented operation',
    ]);
    expect(get('/api/v1/events/7', 409, { statusCode: 409, message: 'x' }).problems).toEqual([
      'GET /api/v1/events/{id} 409: undocumented status (documented: 200, 404)',
    ]);
    expect(get('/api/v1/events/7', 200, EVENT, 'text/html').problems).toEqual([
      'GET /api/v1/events/{id} 200: undocumented content type text/html (documented: application/json)',
    ]);
    expect(get('/api/v1/events/7', 200, EVENT, '').problems).toEqual([
      'GET /api/v1/events/{id} 200: no body where the document declares application/json',
    ]);
  });

  it('allows the statuses every operation may answer, with their body', () => {
    expect(get('/api/v1/events/7', 503, { statusCode: 503, message: 'retry' }).problems).toEqual([]);
    expect(get('/api/v1/events/7', 503, { statusCode: 503 }).problems).toEqual([
      "GET /api/v1/events/{id} 503 application/json: body must have required property 'message'",
    ]);
  });

  it('checks only the content type of a streamed or binary answer, and no body where none is declared', () => {
    const pdf = { method: 'GET', path: '/api/v1/tickets/3/pdf', status: 200, contentType: 'application/pdf' };
    expect(contract.check(pdf).problems).toEqual([]);
    expect(contract.check({ ...pdf, body: Buffer.from('%PDF-1.7') }).problems).toEqual([]);
    expect(contract.check({ ...pdf, contentType: 'application/json', body: '{}' }).problems).toEqual([
      'GET /api/v1/tickets/{id}/pdf 200: undocumented content type application/json (documented: application/pdf)',
    ]);
    const deleted = { method: 'DELETE', path: '/api/v1/events/7', status: 204 };
    expect(contract.check({ ...deleted, body: '' }).problems).toEqual([]);
    expect(contract.check({ ...deleted, contentType: 'application/json', body: '{"ok":true}' }).problems).toEqual([
      'DELETE /api/v1/events/{id} 204: undocumented content type application/json (documented: no body)',
    ]);
  });

  it('lists every operation of the document', () => {
    expect(contract.operations().sort()).toEqual([
      'DELETE /api/v1/events/{id}',
      'GET /api/v1/events/search',
      'GET /api/v1/events/{id}',
      'GET /api/v1/tickets/{id}/pdf',
    ]);
  });
});
