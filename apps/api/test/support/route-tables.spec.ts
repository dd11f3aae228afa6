import { describe, expect, it } from 'vitest';
import { routeRows, rowMismatches } from './route-tables';

const GUIDE = [
  '| route | who | success | failures |',
  '| --- | --- | --- | --- |',
  '| `POST /api/v1/auth/login` `{email, password}` | anyone | 200 tokens | 401, 429 |',
  '| `PATCH /api/v1/things/:id` · `DELETE /api/v1/things/:id` | admin | 200 · 204 | 400 (1–100, over 100 characters), 404 |',
  '| `GET /api/v1/gone` | anyone | 200 | 418 |',
].join('\n');

const paths = {
  '/api/v1/auth/login': { post: { responses: { '200': {}, '400': {}, '401': {}, '413': {}, '429': {}, default: {} } } },
  '/api/v1/things/{id}': {
    patch: { responses: { '200': {}, '400': {}, '404': {}, '415': {} } },
    delete: { responses: { '204': {}, '400': {}, '404': {} } },
  },
};

describe('route table rows', () => {
  it('reads the routes and the statuses of each row, not ranges or counts', () => {
    const rows = routeRows(GUIDE, 'docs/guide/x.md');
    expect(
      rows.map((row) => [row.line, row.routes.map((r) => `${r.method} ${r.path}`), [...row.statuses].sort()]),
    ).toEqual([
      [3, ['POST /api/v1/auth/login'], ['200', '401', '429']],
      [4, ['PATCH /api/v1/things/:id', 'DELETE /api/v1/things/:id'], ['200', '204', '400', '404']],
      [5, ['GET /api/v1/gone'], ['200', '418']],
    ]);
  });

  it('names a status the document declares but the row does not, a route it lacks, and a status no route declares', () => {
    expect(rowMismatches(routeRows(GUIDE, 'docs/guide/x.md'), paths)).toEqual([
      'docs/guide/x.md line 3: POST /api/v1/auth/login does not name 400',
      'docs/guide/x.md line 5: GET /api/v1/gone is not in the document',
      'docs/guide/x.md line 5: names 200, 418, which its routes do not declare',
    ]);
  });
});
