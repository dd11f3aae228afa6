import type { OpenAPIObject } from '@nestjs/swagger';

/** The parts of a schema object the rewrite reads and writes. */
interface Schema {
  $ref?: string;
  type?: string;
  nullable?: boolean;
  enum?: unknown[];
  allOf?: Schema[];
  description?: string;
  [keyword: string]: unknown;
}

const COMPONENT_REF = /^#\/components\/schemas\/(.+)$/;

/**
 * Rewrites the schemas @nestjs/swagger marks `nullable: true` so that a validator reading OpenAPI
 * 3.0.3 as written accepts `null` where the API answers it. 3.0.3 ("nullable" in the Schema Object;
 * the OAI's clarification of 2019) lets `nullable` add `null` only to the `type` of its own schema
 * object, so two shapes Swagger emits refuse `null`:
 * - `{type: 'string', nullable: true, enum: [...]}`: `enum` still lists every allowed value, and
 *   has no `null`: `null` is added to it;
 * - `{nullable: true, allOf: [{$ref}]}` or `{nullable: true, $ref}` (a nullable object of a named
 *   schema): the reference requires an object whatever `nullable` says (and a `$ref`'s siblings
 *   are ignored): the named schema is copied in place, with `nullable: true` and the property's
 *   own description.
 * Mutates `document`; walks components, parameters, bodies and answers, nested properties, items
 * and map values.
 */
export function acceptNullWhereNullable(document: OpenAPIObject): void {
  const components = (document.components?.schemas ?? {}) as Record<string, Schema>;
  const rewrite = (schema: Schema | boolean | undefined): void => {
    if (!schema || typeof schema !== 'object') return;
    if (schema.nullable === true) {
      if (Array.isArray(schema.enum) && !schema.enum.includes(null)) schema.enum.push(null);
      const ref = schema.allOf?.length === 1 ? schema.allOf[0].$ref : schema.$ref;
      const named = ref ? COMPONENT_REF.exec(ref) : null;
      if (named && components[named[1]]) {
        const description = schema.description ?? components[named[1]].description;
        delete schema.allOf;
        delete schema.$ref;
        Object.assign(schema, structuredClone(components[named[1]]), { nullable: true });
        if (description !== undefined) schema.description = description;
      }
    }
    for (const child of Object.values((schema.properties ?? {}) as Record<string, Schema>)) rewrite(child);
    rewrite(schema.items as Schema | undefined);
    rewrite(schema.additionalProperties as Schema | boolean | undefined);
    for (const part of [
      ...((schema.allOf ?? []) as Schema[]),
      ...((schema.oneOf ?? []) as Schema[]),
      ...((schema.anyOf ?? []) as Schema[]),
    ])
      rewrite(part);
  };
  for (const schema of Object.values(components)) rewrite(schema);
  for (const operations of Object.values(document.paths)) {
    for (const operation of Object.values(operations) as {
      parameters?: { schema?: Schema }[];
      requestBody?: { content?: Record<string, { schema?: Schema }> };
      responses?: Record<string, { content?: Record<string, { schema?: Schema }> }>;
    }[]) {
      if (!operation || typeof operation !== 'object') continue;
      for (const parameter of operation.parameters ?? []) rewrite(parameter.schema);
      for (const media of Object.values(operation.requestBody?.content ?? {})) rewrite(media.schema);
      for (const response of Object.values(operation.responses ?? {}))
        for (const media of Object.values(response.content ?? {})) rewrite(media.schema);
    }
  }
}
