import { BadRequestException, ExecutionContext, Query } from '@nestjs/common';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  inputProblems,
  jsonInputProblems,
  jsonPropertyNames,
  parsedPropertyNames,
  undecodableQuery,
} from './input-guard';
import { NoBodyGuard } from './no-body';
import { QueryParamsGuard, queryDeclarationOf } from './query-params.guard';

describe('undecodableQuery', () => {
  it('finds a query string that does not percent-decode to UTF-8', () => {
    for (const url of ['/e?q=%zz', '/e?q=%C3%28', '/e?a=1&q=%', '/e?%E0%A4%A=1', '/e?q=%ED%A0%80']) {
      expect(undecodableQuery(url), url).not.toBeNull();
    }
  });

  it('passes any query string a client encoded, and URLs without a query', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.string()), (params) => {
        const query = new URLSearchParams(params).toString();
        expect(undecodableQuery(`/api/v1/events?${query}`)).toBeNull();
      }),
    );
    expect(undecodableQuery('/api/v1/events/%zz')).toBeNull();
  });
});

describe('inputProblems', () => {
  const value = fc.letrec((tie) => ({
    any: fc.oneof(
      { depthSize: 'small' },
      fc.constantFrom(null, undefined, 1, true, 'fine', 'bad\u0000', 'bad\ud800'),
      fc.array(tie('any'), { maxLength: 3 }),
      fc.dictionary(fc.constantFrom('a', 'b', 'toString', '__defineGetter__', 'c\u0001'), tie('any'), { maxKeys: 3 }),
    ),
  })).any;

  it('names the problems of a body, a query and a path in that order, as if each were walked alone', () => {
    fc.assert(
      fc.property(value, value, value, (body, query, params) => {
        const alone = [...inputProblems(body), ...inputProblems(query), ...inputProblems(params)];
        const together = inputProblems(body, query, params);
        // Together they stop after ten problems; up to then the same problems in the same order.
        expect(together).toEqual(alone.slice(0, together.length));
        expect(together.length === alone.length || together.length >= 10).toBe(true);
      }),
    );
  });

  it('finds nothing in no body, an empty query and empty path parameters', () => {
    expect(inputProblems(undefined, Object.create(null), {})).toEqual([]);
    expect(inputProblems(undefined, { q: null }, {})).toEqual([
      'q must not be null (leave an optional field out instead)',
    ]);
  });
});

describe('jsonInputProblems', () => {
  it('names the prototype keys the safe parser refuses, as unknown properties', () => {
    expect(jsonInputProblems('{"performanceId":3,"seatIds":[4003],"__proto__":{"x":1}}')).toEqual([
      'property __proto__ should not exist',
    ]);
    expect(jsonInputProblems('{"a":{"constructor":{"prototype":{}}}}')).toEqual([
      'property a.constructor should not exist',
    ]);
    expect(jsonInputProblems('{"a":')).toEqual([]);
  });
});

/** The messages of the BadRequestException `run` throws. */
function refusal(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(BadRequestException);
    return ((error as BadRequestException).getResponse() as { message: unknown }).message;
  }
  throw new Error('not refused');
}

describe('NoBodyGuard', () => {
  const guard = new NoBodyGuard();
  const withBody = (body: unknown) =>
    ({ switchToHttp: () => ({ getRequest: () => ({ body }) }) }) as unknown as ExecutionContext;

  it('lets no body through', () => {
    expect(guard.canActivate(withBody(undefined))).toBe(true);
  });

  it('refuses any field, and any other body, {} and [] included, with 400', () => {
    expect(refusal(() => guard.canActivate(withBody({ x: 1 })))).toEqual(['property x should not exist']);
    for (const body of [{}, [], 1, 'x', true, null]) {
      expect(() => guard.canActivate(withBody(body))).toThrow(BadRequestException);
    }
  });
});

describe('QueryParamsGuard', () => {
  class Routes {
    none(): void {}
    dto(@Query() _query: object): void {}
    named(@Query('a') _a: string): void {}
  }
  const guard = new QueryParamsGuard();
  const request = (handler: keyof Routes, url: string, query: Record<string, unknown>) =>
    ({
      switchToHttp: () => ({ getRequest: () => ({ url, query }) }),
      getHandler: () => Routes.prototype[handler],
      getClass: () => Routes,
    }) as unknown as ExecutionContext;

  it('reads what each handler declares of the query', () => {
    expect(queryDeclarationOf(Routes, Routes.prototype.none)).toEqual(new Set());
    expect(queryDeclarationOf(Routes, Routes.prototype.dto)).toBe('dto');
    expect(queryDeclarationOf(Routes, Routes.prototype.named)).toEqual(new Set(['a']));
  });

  it('refuses a parameter the handler does not declare, and passes declared ones and a DTO route (its pipe decides)', () => {
    expect(guard.canActivate(request('none', '/x', {}))).toBe(true);
    expect(guard.canActivate(request('none', '/x?', {}))).toBe(true);
    expect(refusal(() => guard.canActivate(request('none', '/x?b=1&c=2', { b: '1', c: '2' })))).toEqual([
      'property b should not exist',
      'property c should not exist',
    ]);
    expect(guard.canActivate(request('named', '/x?a=1', { a: '1' }))).toBe(true);
    expect(refusal(() => guard.canActivate(request('named', '/x?a=1&b=2', { a: '1', b: '2' })))).toEqual([
      'property b should not exist',
    ]);
    expect(guard.canActivate(request('dto', '/x?b=1', { b: '1' }))).toBe(true);
  });
});

describe('property names of a JSON text and of its parse', () => {
  it.each([
    ['{"a":1,"b":[{"c":2},{"c":3}]}', 4, 4],
    ['{"a":1,"a":2}', 2, 1],
    ['{"a":{"b":1,"b":1}}', 3, 2],
    ['{"a":"x:y","b":"\\":"}', 2, 2],
    ['[1,2,{"a":null}]', 1, 1],
    ['"a:b"', 0, 0],
  ])('%s has %i names in the text and %i once parsed', (text, inText, parsed) => {
    expect(jsonPropertyNames(text, 32)).toBe(inText);
    expect(parsedPropertyNames(JSON.parse(text))).toBe(parsed);
  });

  it('says -1 for nesting deeper than the limit', () => {
    expect(jsonPropertyNames('[[[1]]]', 2)).toBe(-1);
    expect(jsonPropertyNames('[[1]]', 2)).toBe(0);
  });
});
