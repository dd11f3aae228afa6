import type { OpenAPIObject } from '@nestjs/swagger';
import { describe, expect, it } from 'vitest';
import { addErrorResponses, RouteFacts } from './openapi-errors';

function documentOf(paths: OpenAPIObject['paths']): OpenAPIObject {
  return { openapi: '3.0.0', info: { title: 't', version: '1' }, paths };
}

const statuses = (document: OpenAPIObject, path: string, method: 'get' | 'post') =>
  Object.keys(document.paths[path][method]!.responses).sort();

describe('addErrorResponses', () => {
  const facts = new Map<string, RouteFacts>([
    ['Public_get', { public: true, roles: false }],
    ['Buyer_create', { public: false, roles: false }],
    ['Admin_update', { public: false, roles: true }],
  ]);

  it('lists 400 on every operation, 401 unless public, 403 with roles, 404 with a path parameter, 413 and 415 on every method but GET', () => {
    const document = documentOf({
      '/things/{id}': {
        get: {
          operationId: 'Public_get',
          parameters: [{ name: 'id', in: 'path', required: true }],
          responses: { '200': { description: 'ok' } },
        },
        post: {
          operationId: 'Admin_update',
          parameters: [{ name: 'id', in: 'path', required: true }],
          requestBody: { content: { 'application/json': { schema: {} } } },
          responses: { '200': { description: 'ok' } },
        },
      },
      '/things': {
        post: { operationId: 'Buyer_create', responses: { '201': { description: 'made' } } },
      },
    });

    addErrorResponses(document, facts);

    expect(statuses(document, '/things/{id}', 'get')).toEqual(['200', '400', '404', 'default']);
    expect(statuses(document, '/things/{id}', 'post')).toEqual([
      '200',
      '400',
      '401',
      '403',
      '404',
      '413',
      '415',
      'default',
    ]);
    // No request body declared: the route still reads one, and refuses one over the limit.
    expect(statuses(document, '/things', 'post')).toEqual(['201', '400', '401', '413', '415', 'default']);
    expect(document.paths['/things'].post!.responses['401']).toMatchObject({
      content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBodyDto' } } },
    });
  });

  it("keeps a controller's own description of a status", () => {
    const own = { description: 'no such reservation of the caller' };
    const document = documentOf({
      '/things': { post: { operationId: 'Buyer_create', responses: { '404': own, '201': { description: 'made' } } } },
    });

    addErrorResponses(document, facts);

    expect(document.paths['/things'].post!.responses['404']).toBe(own);
  });

  it('claims no 401 for an operation whose route it does not know', () => {
    const document = documentOf({ '/x': { get: { operationId: 'Unknown_get', responses: {} } } });

    addErrorResponses(document, facts);

    expect(statuses(document, '/x', 'get')).toEqual(['400', 'default']);
  });

  it('declares Retry-After on every 429 and 503, and on a 409 whose description names it', () => {
    const document = documentOf({
      '/things': {
        post: {
          operationId: 'Buyer_create',
          responses: {
            '409': { description: 'in progress; retry after `Retry-After` seconds' },
            '429': { description: 'too many' },
          },
        },
        get: {
          operationId: 'Public_get',
          responses: { '409': { description: 'taken' }, '503': { description: 'down' } },
        },
      },
    });

    addErrorResponses(document, facts);

    const post = document.paths['/things'].post!.responses as Record<string, { headers?: object }>;
    const get = document.paths['/things'].get!.responses as Record<string, { headers?: object }>;
    expect(Object.keys(post['409'].headers ?? {})).toEqual(['Retry-After']);
    expect(Object.keys(post['429'].headers ?? {})).toEqual(['Retry-After']);
    expect(Object.keys(get['503'].headers ?? {})).toEqual(['Retry-After']);
    expect(get['409'].headers).toBeUndefined();
  });
});
