import Ajv, { ValidateFunction } from 'ajv';

/**
 * Holds an API's real answers against its OpenAPI 3.0 document, as a client generated from the
 * document would read them: the operation (method and path template), the status, the content
 * type and the body's schema. What the document does not say (an operation, a status, a content
 * type, a property) or says otherwise (a missing required property, a `null` where it says string,
 * a time that is not an RFC 3339 date-time) is a mismatch.
 */

/** The parts of an OpenAPI 3.0 document the contract reads. */
export interface ContractDocument {
  paths: Record<string, Record<string, ContractOperation>>;
  components?: { schemas?: Record<string, unknown> };
}

interface ContractOperation {
  operationId?: string;
  responses?: Record<string, ContractResponse>;
}

/** A response object: its media types, each with an optional schema, and the headers it declares. */
export interface ContractResponse {
  content?: Record<string, { schema?: unknown }>;
  headers?: Record<string, unknown>;
}

/** An answer as the API gave it. */
export interface ContractAnswer {
  method: string;
  /** The concrete path asked for (`/api/v1/events/12?limit=5`: the query and a fragment are left out). */
  path: string;
  status: number;
  /** The Content-Type header, parameters included (`application/json; charset=utf-8`), if any. */
  contentType?: string;
  /**
   * The body as sent; `undefined` when it was streamed (a PDF, a CSV): then only its content type is
   * checked.
   */
  body?: string | Buffer;
}

/** What {@link OpenApiContract.check} found: the operation (`GET /api/v1/events/{id}`) and mismatches. */
export interface ContractVerdict {
  operation?: string;
  problems: string[];
}

export interface ContractOptions {
  /**
   * Responses any operation may give besides its own, by status: those the document's description
   * promises everywhere (431 headers too large, 503 a store unavailable).
   */
  everywhere?: Record<string, ContractResponse>;
  /**
   * Treat every object schema with `properties` and no `additionalProperties` as closed, so that a
   * property the document does not declare is a mismatch (a client generated from it never sees the
   * value). Parts of an `allOf` stay open (each part sees only its own properties).
   */
  closed?: boolean;
}

/** RFC 3339 date-time with an offset: what `format: date-time` promises a client. */
const DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i;

interface Template {
  path: string;
  pattern: RegExp;
  /** How many `{parameters}` it has: a literal segment wins over a parameter (`/events/search`). */
  parameters: number;
}

/** See the file's docstring. Compiles each (operation, status, media type) schema once, when first met. */
export class OpenApiContract {
  private readonly ajv: Ajv;
  private readonly templates: Template[];
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(
    private readonly document: ContractDocument,
    private readonly options: ContractOptions = {},
  ) {
    // `strict: false`: OpenAPI's own keywords (example, nullable's neighbours, …) are not JSON
    // Schema's; Ajv reads `nullable` itself. Only date-time is a format a client parses; the others
    // (int64, uuid, email, …) describe, and are not checked.
    this.ajv = new Ajv({ strict: false, allErrors: true, logger: false, formats: { 'date-time': DATE_TIME } });
    const components = options.closed ? closeObjects(document.components ?? {}) : (document.components ?? {});
    this.ajv.addSchema({ components }, 'doc');
    this.templates = Object.keys(document.paths)
      .map((path) => ({
        path,
        pattern: new RegExp(
          `^${path
            .split(/\{[^}]+\}/)
            .map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
            .join('[^/]+')}$`,
        ),
        parameters: (path.match(/\{/g) ?? []).length,
      }))
      .sort((a, b) => a.parameters - b.parameters);
  }

  /** Every operation of the document, as `METHOD /path/{template}`. */
  operations(): string[] {
    return Object.entries(this.document.paths).flatMap(([path, operations]) =>
      Object.keys(operations)
        .filter((method) => METHODS.has(method))
        .map((method) => `${method.toUpperCase()} ${path}`),
    );
  }

  /** The response `operation` (`METHOD /path/{template}`, as {@link operations} names it) declares for `status`. */
  response(operation: string, status: number): ContractResponse | undefined {
    const [method, path] = operation.split(' ');
    return this.document.paths[path]?.[method.toLowerCase()]?.responses?.[String(status)];
  }

  /** The document's operation for a concrete `path` (query left out) and `method`, as `METHOD /template`. */
  operationOf(method: string, path: string): string | undefined {
    const bare = path.split(/[?#]/)[0];
    const verb = method.toLowerCase();
    const template = this.templates.find(({ pattern, path: t }) => pattern.test(bare) && this.document.paths[t][verb]);
    return template && `${method.toUpperCase()} ${template.path}`;
  }

  /**
   * Checks one answer; see {@link ContractVerdict}. `template` (`/api/v1/events/{id}`) names the
   * operation asked for when the caller knows it, e.g. a fuzzed path value no route matches (an
   * empty `{id}`): the path is then not matched.
   */
  check(answer: ContractAnswer, template?: string): ContractVerdict {
    const operation =
      template === undefined
        ? this.operationOf(answer.method, answer.path)
        : this.document.paths[template]?.[answer.method.toLowerCase()] && `${answer.method.toUpperCase()} ${template}`;
    if (!operation) return { problems: [`${answer.method} ${answer.path.split(/[?#]/)[0]}: undocumented operation`] };
    const [method, path] = operation.split(' ');
    const responses = this.document.paths[path][method.toLowerCase()].responses ?? {};
    const status = String(answer.status);
    const response =
      responses[status] ?? responses[`${status[0]}XX`] ?? this.options.everywhere?.[status] ?? responses.default;
    if (!response) {
      const documented = Object.keys(responses).join(', ');
      return { operation, problems: [`${operation} ${status}: undocumented status (documented: ${documented})`] };
    }
    return { operation, problems: this.checkAgainst(response, answer, `${operation} ${status}`) };
  }

  /**
   * Checks `answer`'s content type and body against `response` (a response object of the document,
   * its `$ref`s into the document's components); answers the mismatches, each opening with `at`.
   */
  checkAgainst(response: ContractResponse, answer: ContractAnswer, at: string): string[] {
    const media = answer.contentType?.split(';')[0].trim().toLowerCase();
    const declared = Object.keys(response.content ?? {});
    const empty = answer.body !== undefined && answer.body.length === 0;
    if (!media || empty) {
      // No body: right when the response declares none (204, a 201 without content).
      return declared.length === 0 || answer.status === 304
        ? []
        : [`${at}: no body where the document declares ${declared.join(', ')}`];
    }
    const mediaKey = declared.find((key) => key.toLowerCase() === media);
    if (mediaKey === undefined) {
      return [`${at}: undocumented content type ${media} (documented: ${declared.join(', ') || 'no body'})`];
    }
    const schema = response.content![mediaKey].schema;
    if (schema === undefined || answer.body === undefined || !media.endsWith('json')) return [];
    let body: unknown;
    try {
      body = JSON.parse(answer.body.toString());
    } catch {
      return [`${at} ${media}: the body is not JSON`];
    }
    const validate = this.validatorOf(`${at} ${mediaKey}`, schema);
    if (validate(body)) return [];
    return (validate.errors ?? []).map(
      (error) =>
        `${at} ${media}: body${error.instancePath || ''} ${error.message ?? 'is invalid'}` +
        (error.keyword === 'additionalProperties'
          ? ` (${(error.params as { additionalProperty: string }).additionalProperty})`
          : ''),
    );
  }

  private validatorOf(key: string, schema: unknown): ValidateFunction {
    let validate = this.validators.get(key);
    if (!validate) {
      // The answer's schema refers into the document's components, added above as `doc`.
      const own = this.options.closed ? closeObjects(schema) : schema;
      validate = this.ajv.compile(JSON.parse(JSON.stringify(own).replaceAll('"#/components/', '"doc#/components/')));
      this.validators.set(key, validate);
    }
    return validate;
  }
}

const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace']);

/** A deep copy of `value` with each open object schema closed (see ContractOptions.closed). */
function closeObjects<T>(value: T, inAllOf = false): T {
  if (Array.isArray(value)) return value.map((item) => closeObjects(item, inAllOf)) as T;
  if (!value || typeof value !== 'object') return value;
  const copy: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    copy[key] =
      key === 'properties' && child && typeof child === 'object'
        ? Object.fromEntries(Object.entries(child).map(([name, schema]) => [name, closeObjects(schema)]))
        : closeObjects(child, key === 'allOf');
  }
  if (!inAllOf && copy.properties && copy.additionalProperties === undefined) copy.additionalProperties = false;
  return copy as T;
}
