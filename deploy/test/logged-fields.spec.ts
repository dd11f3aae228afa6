import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { CUSTOM_FIELDS, fitsType } from './ecs';

const ROOT = join(__dirname, '..', '..');

/** Source files (no tests) under `dir` whose text has a `boxoffice:` field: the lines with fields of our own. */
function sourcesLoggingFields(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts') && !/\.(spec|int-spec|e2e-spec|d)\.ts$/.test(name))
    .map((name) => join(ROOT, dir, name))
    .filter((path) => readFileSync(path, 'utf8').includes('boxoffice:'));
}

/** A JSON value of the leaf's TypeScript type, for `fitsType`: one per primitive the type allows. */
function samples(type: ts.Type): unknown[] {
  const parts = type.isUnion() ? type.types : [type];
  return parts.flatMap((part): unknown[] => {
    // An absent field is no value; a null is one that no field type takes (leave the field out).
    if (part.flags & ts.TypeFlags.Undefined) return [];
    if (part.flags & ts.TypeFlags.Null) return [null];
    if (part.flags & ts.TypeFlags.NumberLike) return part.isNumberLiteral() ? [part.value] : [1];
    if (part.flags & ts.TypeFlags.StringLike) return ['text'];
    if (part.flags & ts.TypeFlags.BooleanLike) return [true];
    return [part];
  });
}

interface LoggedField {
  name: string;
  samples: unknown[];
  where: string;
}

/**
 * Every leaf of the `boxoffice` object of every object literal logged (`logger.log/warn/error/...`)
 * in `files`, with its dotted name, read through the type checker: spreads, variables and
 * `Record<K, V>` counters are resolved as TypeScript sees them.
 */
function loggedFields(files: string[]): LoggedField[] {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(ROOT, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  )!;
  const program = ts.createProgram(files, { ...config.options, noEmit: true });
  const checker = program.getTypeChecker();
  const fields: LoggedField[] = [];
  const walk = (type: ts.Type, name: string, at: ts.Node, where: string, depth: number): void => {
    const objects = (type.isUnion() ? type.types : [type]).filter(
      (part) => part.flags & ts.TypeFlags.Object && !checker.isArrayType(part),
    );
    if (objects.length === 0 || depth > 6) {
      fields.push({ name, samples: samples(type), where });
      return;
    }
    for (const property of checker.getPropertiesOfType(checker.getNonNullableType(type))) {
      const propertyType = checker.getTypeOfSymbolAtLocation(property, at);
      walk(propertyType, `${name}.${property.name}`, at, where, depth + 1);
    }
  };
  for (const file of files) {
    const source = program.getSourceFile(file)!;
    const visit = (node: ts.Node): void => {
      if (
        ts.isCallExpression(node) &&
        ts.isPropertyAccessExpression(node.expression) &&
        ['log', 'warn', 'error', 'debug', 'verbose', 'fatal'].includes(node.expression.name.text)
      ) {
        for (const argument of node.arguments.filter(ts.isObjectLiteralExpression)) {
          for (const property of argument.properties) {
            if (property.name && ts.isIdentifier(property.name) && property.name.text === 'boxoffice') {
              const { line } = source.getLineAndCharacterOfPosition(property.getStart());
              const where = `${relative(ROOT, file)}:${line + 1}`;
              walk(checker.getTypeAtLocation(property), 'boxoffice', property, where, 0);
            }
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return fields;
}

describe('fields of our own in log lines', () => {
  // Kibana, the index template and every reader of the logs know a field by its name and type in
  // deploy/elasticsearch/custom-fields.json; deploy/test/ecs-logs.e2e-spec.ts checks the lines of
  // a start and a few requests only, not those of a flush, a reconciliation or a repair.
  it('every boxoffice.* field a source file logs is documented in custom-fields.json with a type its values fit', () => {
    const files = ['apps', 'libs'].flatMap(sourcesLoggingFields);
    const fields = loggedFields(files);
    expect(fields.length).toBeGreaterThan(20);
    const problems = fields.flatMap(({ name, samples: values, where }) => {
      const custom = CUSTOM_FIELDS.find((field) => field.name === name);
      if (!custom) return [`${name} (${where}) is not in deploy/elasticsearch/custom-fields.json`];
      const wrong = values.find((value) => !fitsType(value, custom.type));
      return wrong === undefined
        ? []
        : [`${name} (${where}): ${JSON.stringify(wrong) ?? typeof wrong} does not fit type ${custom.type}`];
    });
    expect([...new Set(problems)]).toEqual([]);
  }, 60_000);
});
