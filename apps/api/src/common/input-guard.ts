/**
 * Checks of decoded input that hold for every route, made at the edge before any DTO
 * transformation or validation: nothing of this kind reaches class-transformer, a validator or
 * PostgreSQL.
 */

/** The deepest nesting of arrays and objects a JSON body may have. */
export const MAX_JSON_DEPTH = 32;

/** Control characters other than tab, line feed and carriage return (PostgreSQL refuses U+0000). */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

/** A UTF-16 surrogate without its partner: not a character, and not encodable as UTF-8. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Names of `Object.prototype` members: class-validator's whitelist looks property names up in a
 * plain object, so some of them (`constructor`, `hasOwnProperty`) slip through as "known".
 */
const INHERITED_NAMES = new Set(Object.getOwnPropertyNames(Object.prototype));

const MAX_PROBLEMS = 10;

/**
 * Top-level body fields whose `null` means something (PATCH /performances/:id and POST
 * /events/:id/performances: salesCloseAt null = at startsAt, cancelUntil null = no self-service
 * cancel, maxTicketsPerBuyer null = no ticket limit per buyer, checkInOpensBeforeMinutes and
 * checkInClosesAfterMinutes null = the global check-in window; and the presale routes' maxSeats
 * null = no allocation); the DTOs that declare them handle
 * null, and every other DTO refuses them as unknown properties.
 */
export const NULLABLE_BODY_FIELDS: ReadonlySet<string> = new Set([
  'salesCloseAt',
  'cancelUntil',
  'maxTicketsPerBuyer',
  'checkInOpensBeforeMinutes',
  'checkInClosesAfterMinutes',
  'maxSeats',
]);

/**
 * One pass over a JSON text, no recursion: the number of property names in it (the `:` outside
 * strings, each ends one), or -1 when arrays and objects nest deeper than `maxDepth`.
 */
export function jsonPropertyNames(text: string, maxDepth: number): number {
  let depth = 0;
  let names = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === 0x5c) i += 1;
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) {
      inString = true;
    } else if (code === 0x3a) {
      names += 1;
    } else if (code === 0x5b || code === 0x7b) {
      depth += 1;
      if (depth > maxDepth) return -1;
    } else if (code === 0x5d || code === 0x7d) {
      depth -= 1;
    }
  }
  return names;
}

/**
 * The number of own properties of every object in a parsed JSON value; iterative. Fewer than
 * `jsonPropertyNames` of its text counted means some object named a property twice (the parser
 * keeps the last).
 */
export function parsedPropertyNames(value: unknown): number {
  let names = 0;
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item !== 'object' || item === null) continue;
    if (Array.isArray(item)) {
      for (const element of item) if (typeof element === 'object' && element !== null) pending.push(element);
    } else {
      for (const key in item) {
        names += 1;
        const element = (item as Record<string, unknown>)[key];
        if (typeof element === 'object' && element !== null) pending.push(element);
      }
    }
  }
  return names;
}

/**
 * Field errors of decoded input (a body, the query, the path parameters), in the words of the
 * validation pipe: `null` (no input field is nullable; class-validator's `IsOptional` would let it
 * through to the database), strings with control characters or malformed Unicode (lone
 * surrogates), and property names that are unknown to every DTO because `Object.prototype` has
 * them. Iterative, so it cannot overflow the stack; at most MAX_PROBLEMS over all `inputs`.
 */
export function inputProblems(...inputs: unknown[]): string[] {
  const problems: string[] = [];
  // Walked in the order given (a stack, so pushed last to first). Most requests have no body and
  // an empty query and path: those cost no walk.
  const pending: [unknown, string][] = [];
  for (let i = inputs.length - 1; i >= 0; i -= 1) {
    if (inputs[i] !== undefined && !isEmptyObject(inputs[i])) pending.push([inputs[i], '']);
  }
  while (pending.length > 0 && problems.length < MAX_PROBLEMS) {
    const [value, path] = pending.pop()!;
    if (value === null && NULLABLE_BODY_FIELDS.has(path)) {
      continue;
    } else if (value === null) {
      problems.push(`${path || 'value'} must not be null (leave an optional field out instead)`);
    } else if (typeof value === 'string') {
      const problem = stringProblem(value);
      if (problem) problems.push(`${path || 'value'} must not contain ${problem}`);
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => pending.push([item, path ? `${path}.${index}` : String(index)]));
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        const name = path ? `${path}.${key}` : key;
        if (INHERITED_NAMES.has(key) || stringProblem(key)) {
          problems.push(`property ${stringProblem(key) ? JSON.stringify(key) : name} should not exist`);
        } else {
          pending.push([item, name]);
        }
      }
    }
  }
  return problems;
}

function isEmptyObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  for (const key in value) if (Object.hasOwn(value, key)) return false;
  return true;
}

function stringProblem(value: string): string | null {
  if (LONE_SURROGATE.test(value)) return 'malformed Unicode';
  if (CONTROL_CHARACTER.test(value)) return 'control characters';
  return null;
}

/**
 * The field errors of a JSON text (see inputProblems), or none when it is not JSON. For a body the
 * safe parser refused: valid JSON it refuses has a `__proto__` or `constructor` property, which
 * this names as an unknown property.
 */
export function jsonInputProblems(text: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return [];
  }
  return inputProblems(value);
}

/**
 * The problem of a request target whose query string does not percent-decode (`%zz`, or bytes
 * that are not UTF-8 such as `%C3%28`), or null. The path's decoding is Fastify's (a 400 there);
 * its query parser keeps undecodable text as sent, which would reach a route as a value nobody
 * sent. Costs nothing for a query without `%`.
 */
export function undecodableQuery(url: string): string | null {
  const start = url.indexOf('?');
  if (start < 0 || url.indexOf('%', start) < 0) return null;
  try {
    decodeURIComponent(url.slice(start + 1));
    return null;
  } catch {
    return 'the query string is not valid percent-encoded UTF-8';
  }
}
