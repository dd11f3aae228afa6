/**
 * Checks of the types an OpenAPI document gives its values, so that a client generated from it
 * (openapi-typescript, …) gets them right: times as `format: date-time`, whole numbers as
 * `type: integer`, and a schema for every success answer with a body.
 */

/** The parts of a schema object the checks read. */
interface Schema {
  type?: string;
  format?: string;
  example?: unknown;
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: Schema | boolean;
  allOf?: Schema[];
  oneOf?: Schema[];
  anyOf?: Schema[];
}

interface Operation {
  parameters?: { name: string; in: string; description?: string; schema?: Schema }[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { content?: Record<string, { schema?: Schema }> }>;
}

/** The document as the checks read it. */
export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

/** A value the document types: where (`Schema.property`, or `METHOD /path in:name`), its name, its schema. */
export interface TypedValue {
  where: string;
  name: string;
  schema: Schema;
}

/** RFC 3339 date-time with an offset, as every time of the API is written. */
const DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

/**
 * Every named value of the document: the properties of its schemas (nested ones, array items and
 * map values included, under their property's name), and its operations' parameters (with the
 * parameter's description when its schema has none).
 */
export function typedValues(document: OpenApiDocument): TypedValue[] {
  const values: TypedValue[] = [];
  const walk = (schema: Schema | boolean | undefined, where: string, name: string): void => {
    if (!schema || typeof schema !== 'object') return;
    if (name) values.push({ where, name, schema });
    for (const [property, child] of Object.entries(schema.properties ?? {}))
      walk(child, `${where}.${property}`, property);
    walk(schema.items, `${where}[]`, name);
    walk(schema.additionalProperties, `${where}{}`, name);
    for (const part of [...(schema.allOf ?? []), ...(schema.oneOf ?? []), ...(schema.anyOf ?? [])])
      walk(part, where, '');
  };
  for (const [name, schema] of Object.entries(document.components.schemas)) walk(schema, name, '');
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const at = `${method.toUpperCase()} ${path}`;
      // A parameter's description is the parameter's, not its schema's: read with the schema.
      for (const parameter of operation.parameters ?? [])
        walk(
          parameter.schema && { description: parameter.description, ...parameter.schema },
          `${at} ${parameter.in}:${parameter.name}`,
          parameter.name,
        );
      for (const media of Object.values(operation.requestBody?.content ?? {})) walk(media.schema, `${at} body`, '');
      for (const [status, response] of Object.entries(operation.responses ?? {}))
        for (const media of Object.values(response.content ?? {})) walk(media.schema, `${at} ${status}`, '');
    }
  }
  return values;
}

/**
 * The string values that carry a time but lack `format: date-time`: a name ending in `At` (or
 * `AtLocal`), or an example or description that is (or names) an RFC 3339 date-time.
 */
export function timesWithoutDateTime(values: TypedValue[], exceptions: ReadonlySet<string> = new Set()): string[] {
  return values
    .filter(({ schema }) => schema.type === 'string' && schema.format !== 'date-time')
    .filter(
      ({ name, schema }) =>
        /At(Local)?$/.test(name) ||
        (typeof schema.example === 'string' && DATE_TIME.test(schema.example)) ||
        /RFC 3339/.test(schema.description ?? ''),
    )
    .map(({ where }) => where)
    .filter((where) => !exceptions.has(where));
}

/**
 * The values typed `number` that are not on `decimals`: the API's numbers are whole (ids, counts,
 * amounts in minor units, seconds, limits) unless a value is listed as a true decimal.
 */
export function numbersNotDecimal(values: TypedValue[], decimals: ReadonlySet<string>): string[] {
  return values
    .filter(({ schema }) => schema.type === 'number')
    .map(({ where }) => where)
    .filter((where) => !decimals.has(where));
}

/** The success answers (2xx but 204) that declare no content with a schema: a client cannot type them. */
export function successesWithoutSchema(document: OpenApiDocument): string[] {
  const missing: string[] = [];
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        if (!/^2\d\d$/.test(status) || status === '204') continue;
        const media = Object.values(response.content ?? {});
        if (media.length === 0 || media.some((m) => !m.schema))
          missing.push(`${method.toUpperCase()} ${path} ${status}`);
      }
    }
  }
  return missing;
}

/** Names that mark money (README "Money": every price and amount, and sums of them such as revenue). */
const MONEY_NAME = /(price|amount|revenue|refund|fee|cost)$/i;

/** A description that gives a value's unit as money's: minor units of a currency. */
const MINOR_UNITS = /minor units?\b/i;

/**
 * The money values of the document: the numbers whose description gives minor units, and every
 * value whose name is money's — a name some such number has, or one that ends like money
 * (`price`, `minPrice`, `amount`, `refundAmount`, `revenue`, …). So a new money field is found by
 * its name or by its docs. (Strings are not found by their docs: `currency` tells its code's
 * minor unit.)
 */
export function moneyValues(values: TypedValue[]): TypedValue[] {
  const byDocs = ({ schema }: TypedValue): boolean =>
    (schema.type === 'integer' || schema.type === 'number') && MINOR_UNITS.test(schema.description ?? '');
  const names = new Set(values.filter(byDocs).map(({ name }) => name));
  return values.filter((value) => names.has(value.name) || MONEY_NAME.test(value.name) || byDocs(value));
}

/**
 * The money values that are not `integer` with `format: int64` and a description naming the unit
 * (minor units): a generated Java or C# client reads a plain integer as 32-bit, and sums of money
 * pass 2^31 − 1.
 */
export function moneyNotInt64(values: TypedValue[]): string[] {
  return moneyValues(values)
    .filter(
      ({ schema }) =>
        schema.type !== 'integer' || schema.format !== 'int64' || !MINOR_UNITS.test(schema.description ?? ''),
    )
    .map(({ where }) => where);
}

/** `$ref`s of the document's components, made to point into the copy a validator holds as `doc`. */
function refsInto(schema: unknown, into: string): unknown {
  if (Array.isArray(schema)) return schema.map((part) => refsInto(part, into));
  if (!schema || typeof schema !== 'object') return schema;
  return Object.fromEntries(
    Object.entries(schema).map(([key, value]) => [
      key,
      key === '$ref' && typeof value === 'string' ? `${into}${value}` : refsInto(value, into),
    ]),
  );
}

/**
 * The values marked `nullable: true` that a JSON Schema validator reading OpenAPI 3.0.3's
 * `nullable` (Ajv, as a client or a contract test validates answers) refuses `null` for: an enum
 * without `null`, a nullable `allOf` of a named object, … `validatorFor(doc)` compiles a schema
 * whose `$ref`s point into `doc` (the document itself, registered under the id `doc`).
 */
export function nullablesRefusingNull(
  document: OpenApiDocument,
  values: TypedValue[],
  validatorFor: (doc: OpenApiDocument) => (schema: unknown) => (value: unknown) => boolean,
): string[] {
  const compile = validatorFor(document);
  return values
    .filter(({ schema }) => (schema as { nullable?: boolean }).nullable === true)
    .filter(({ schema }) => !compile(refsInto(schema, 'doc'))(null))
    .map(({ where }) => where);
}
