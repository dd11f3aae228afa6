/**
 * The route tables of the API guides (docs/guide/*.md, and README.md) held against the OpenAPI
 * document: a row names a route
 * (`` `METHOD /path` ``, several in one row joined by ` · `), who may call it, its success and its
 * failures. The statuses a row names must be the ones the document declares for its routes.
 */

/** One row of a route table. */
export interface RouteRow {
  /** The Markdown file the row is in, as messages name it. */
  file: string;
  /** 1-based line in the file. */
  line: number;
  routes: { method: string; path: string }[];
  /** The statuses its success and failures cells name. */
  statuses: Set<string>;
}

/**
 * A status is a number from 100 to 599 in the success or failures cell, unless it ends a range
 * (`1–100`) or counts something (`100 characters`, `100 sections`).
 */
const STATUS = /(?<![\w.–-])([1-5]\d\d)(?![\w.–%]| characters| sections)/g;

/**
 * The rows of every route table of `markdown`, the text of `file` (rows whose first cell starts
 * with a method and a path).
 */
export function routeRows(markdown: string, file: string): RouteRow[] {
  const rows: RouteRow[] = [];
  markdown.split('\n').forEach((text, index) => {
    if (!/^\| `(GET|POST|PUT|PATCH|DELETE) \//.test(text)) return;
    // Cells split on `|` not escaped as `\|` (an enum's values in a cell).
    const cells = text.split(/(?<!\\)\|/).slice(1, -1);
    const routes = [...cells[0].matchAll(/`(GET|POST|PUT|PATCH|DELETE) (\/[^\s`?]*)/g)].map(([, method, path]) => ({
      method,
      path,
    }));
    const statuses = new Set([...cells.slice(2).join('|').matchAll(STATUS)].map(([, status]) => status));
    rows.push({ file, line: index + 1, routes, statuses });
  });
  return rows;
}

/** Statuses the docs state for every route at once (the guide's "Errors", README's "API docs"), not per row. */
const STATED_FOR_ALL = new Set(['413', '415', '431', '503', 'default']);

/**
 * The disagreements of `rows` with the document's declared statuses (`paths[path][method].responses`),
 * as "<file> line N: …" lines: a route the document lacks, a status declared but not named (but
 * those stated for all routes), a status named that none of the row's routes declares.
 */
export function rowMismatches(
  rows: RouteRow[],
  paths: Record<string, Record<string, { responses?: Record<string, unknown> }>>,
): string[] {
  const problems: string[] = [];
  for (const row of rows) {
    const declaredByRow = new Set<string>();
    for (const { method, path } of row.routes) {
      const operation = paths[path.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()];
      if (!operation) {
        problems.push(`${row.file} line ${row.line}: ${method} ${path} is not in the document`);
        continue;
      }
      const declared = Object.keys(operation.responses ?? {});
      declared.forEach((status) => declaredByRow.add(status));
      const unnamed = declared.filter((status) => !STATED_FOR_ALL.has(status) && !row.statuses.has(status));
      if (unnamed.length > 0)
        problems.push(`${row.file} line ${row.line}: ${method} ${path} does not name ${unnamed.join(', ')}`);
    }
    const undeclared = [...row.statuses].filter((status) => !declaredByRow.has(status));
    if (undeclared.length > 0)
      problems.push(`${row.file} line ${row.line}: names ${undeclared.join(', ')}, which its routes do not declare`);
  }
  return problems;
}
