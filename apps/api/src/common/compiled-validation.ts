import { ArgumentMetadata, Injectable, Type, ValidationPipe, ValidationPipeOptions } from '@nestjs/common';
import Ajv, { JSONSchemaType, ValidateFunction } from 'ajv';
import type { ValidationError } from 'class-validator';

/**
 * The options of the global validation pipe (bootstrap.ts): unknown fields refused, DTO instances
 * handed on, no implicit type conversion (a query's `"5"` stays a string unless a DTO says otherwise).
 */
export const VALIDATION_OPTIONS: ValidationPipeOptions = {
  whitelist: true,
  forbidNonWhitelisted: true,
  transform: true,
  transformOptions: { enableImplicitConversion: false },
};

/**
 * One Ajv instance for every compiled schema: no coercion, no defaults, nothing removed, so a
 * schema only ever says yes or no and never changes the value it checks.
 */
const ajv = new Ajv({ allErrors: false, coerceTypes: false, useDefaults: false, removeAdditional: false });

const compiled = new WeakMap<object, { check: ValidateFunction; accepted?: (value: never) => unknown }>();

/**
 * Gives a request DTO a JSON schema, compiled once when the class is loaded, that the
 * validation pipe tries first. The schema must accept only values the DTO's class-validator
 * rules accept (a subset): a value it accepts is passed on as it came, without class-transformer
 * or class-validator; anything else goes through them as before, so every 400 keeps its words.
 * The class-validator rules stay the single statement of the rules (and Swagger's source).
 * `accepted`, when given, makes of an accepted value what class-transformer would have made of
 * it (a query string's `limit` as a number, its default when absent); called only with values
 * the schema accepted.
 */
export function CompiledSchema<T>(schema: JSONSchemaType<T>, accepted?: (value: T) => unknown): ClassDecorator {
  const check = ajv.compile(schema);
  return (target) => {
    compiled.set(target, { check, accepted });
  };
}

/** The compiled check of a DTO class, if it has one. */
export function compiledSchemaOf(metatype: unknown): ValidateFunction | undefined {
  return typeof metatype === 'function' ? compiled.get(metatype)?.check : undefined;
}

/**
 * The class-validator rules that say what type a field has, first the one told when several
 * fail. A value of the wrong type fails its other rules too (`"1"` is neither ≥ 1 nor ≤
 * 2147483647 to class-validator, `1` is not "shorter than 512 characters"): their words would
 * only be noise, so a field whose type rule fails is told that one alone.
 */
const TYPE_RULES = ['isObject', 'isArray', 'isString', 'isInt', 'isNumber', 'isBoolean', 'nestedValidation'];

/** `error` and its children, each field whose type rule failed keeping only that rule's message. */
function typeMessageOnly(error: ValidationError): ValidationError {
  const constraints = error.constraints;
  const typeRule = constraints === undefined ? undefined : TYPE_RULES.find((rule) => rule in constraints);
  return {
    ...error,
    constraints: typeRule === undefined ? constraints : { [typeRule]: constraints![typeRule] },
    children: error.children?.map(typeMessageOnly),
  };
}

/**
 * Nest's `ValidationPipe` telling one message for a field of the wrong type: the type's
 * (`performanceId must be an integer number`, not also "must not be less than 1"), for every
 * DTO (see TYPE_RULES). Other failed rules of a field are all told, as before.
 */
export class FieldValidationPipe extends ValidationPipe {
  /**
   * A query parameter sent more than once is told only that (see repeatedParameters); a body
   * that is JSON but not an object (`[1,2]`, `"x"`, `3`; a `null` body meets the input guard's
   * "must not be null" first) is told that, not each of its array indexes as an unknown property
   * and each missing field.
   */
  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const repeated = metadata.type === 'query' ? repeatedParameters(value) : notAnObjectBody(value, metadata);
    if (repeated.length > 0) return Promise.reject(this.exceptionFactory(repeated) as Error);
    return super.transform(value, metadata) as Promise<unknown>;
  }

  protected override flattenValidationErrors(validationErrors: ValidationError[]): string[] {
    return super.flattenValidationErrors(validationErrors.map(typeMessageOnly));
  }
}

/**
 * `FieldValidationPipe` with a fast path: a body or query whose DTO has a `@CompiledSchema` and
 * passes it is returned as it came, or as the schema's `accepted` makes it (a plain object with
 * exactly the DTO's fields). On the hot routes this replaces class-transformer and
 * class-validator: ~16 % of a hold's CPU, ~13 % of a seat page's.
 */
@Injectable()
export class CompiledValidationPipe extends FieldValidationPipe {
  constructor(options?: ValidationPipeOptions) {
    super(options);
  }

  /**
   * A path or query parameter declared `number` stays the string it came as: Nest's own
   * conversion is `Number(value)`, which reads `0x2`, `02`, `+2`, `2.0`, ` 2` and `1e0` as 2, so
   * the route's pipe (ParseIdPipe) would never see the spelling. Numbers are parsed there, in
   * canonical decimal only (see CANONICAL_INTEGER).
   */
  protected override transformPrimitive(value: unknown, metadata: ArgumentMetadata): unknown {
    return metadata.metatype === Number ? value : super.transformPrimitive(value, metadata);
  }

  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const schema = typeof metadata.metatype === 'function' ? compiled.get(metadata.metatype) : undefined;
    if (schema !== undefined && schema.check(value)) {
      return Promise.resolve(schema.accepted === undefined ? value : schema.accepted(value as never));
    }
    return super.transform(value, metadata) as Promise<unknown>;
  }
}

/** The refusal of a body given for a DTO that is not a JSON object; [] for any other value. */
function notAnObjectBody(value: unknown, metadata: ArgumentMetadata): ValidationError[] {
  const { type, data, metatype } = metadata;
  // A whole body for a DTO class, not one field of it (`@Body('x')`) nor a primitive.
  if (type !== 'body' || data !== undefined || typeof metatype !== 'function' || value === undefined) return [];
  if ([String, Number, Boolean, Array, Object].includes(metatype as never)) return [];
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return [];
  return [
    { property: 'body', value, constraints: { isObject: 'the request body must be a JSON object' }, children: [] },
  ];
}

/**
 * The query parameters sent more than once (Fastify's parser makes them arrays): no query of the
 * API takes a list, so each is told that alone, whatever its other rules (an array of two valid
 * e-mail addresses is neither "an email" nor "shorter than 320 characters").
 */
function repeatedParameters(query: unknown): ValidationError[] {
  if (typeof query !== 'object' || query === null) return [];
  return Object.entries(query)
    .filter(([, value]) => Array.isArray(value))
    .map(([property, value]) => ({
      property,
      value,
      constraints: { isSingle: `${property} must be given once` },
      children: [],
    }));
}

/** The global pipe's twin for bodies checked in the handler (see acceptedBody): same options, same answers. */
const bodyPipe = new CompiledValidationPipe(VALIDATION_OPTIONS);

/**
 * A request body as the global validation pipe would hand it to `@Body() body: T`, when the
 * DTO's compiled schema accepts it: synchronously, without Nest's pipe stage (`applyPipes` →
 * `getParamValue` → `PipesConsumer.apply` → `transform`, each `async`: ~12 promises a request,
 * docs/performance.md). Undefined when the DTO has no schema or the schema refuses the body: then
 * {@link checkedBody} gives the pipe's answer. For hot routes that read the body from `@Req()`
 * (with `@ApiBody` for Swagger); every other route keeps `@Body()`.
 */
export function acceptedBody<T>(dto: Type<T>, body: unknown): T | undefined {
  const schema = compiled.get(dto);
  if (schema === undefined || !schema.check(body)) return undefined;
  return (schema.accepted === undefined ? body : schema.accepted(body as never)) as T;
}

/**
 * What the global validation pipe makes of a body for `@Body() body: T`: the DTO instance, or
 * BadRequestException with the same messages (the uniform 400). The slow path beside
 * {@link acceptedBody}.
 */
export function checkedBody<T>(dto: Type<T>, body: unknown): Promise<T> {
  return bodyPipe.transform(body, { type: 'body', metatype: dto }) as Promise<T>;
}
