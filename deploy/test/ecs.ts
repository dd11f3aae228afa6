import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { EcsFlat } from '@elastic/ecs';
import type { LogLine } from './app-logs';

export interface CustomField {
  name: string;
  type: string;
  description: string;
}

export const CUSTOM_FIELDS: CustomField[] = (
  JSON.parse(readFileSync(join(__dirname, '..', 'elasticsearch', 'custom-fields.json'), 'utf8')) as {
    fields: CustomField[];
  }
).fields;

const STRING_TYPES = new Set(['keyword', 'wildcard', 'match_only_text', 'text', 'constant_keyword', 'version']);
const INTEGER_TYPES = new Set(['long', 'integer', 'short', 'byte', 'unsigned_long']);
const NUMBER_TYPES = new Set(['float', 'double', 'scaled_float', 'half_float']);

/** Every leaf of a line as a dotted name, whether the line nests (`log: {logger}`) or dots (`log.level`). */
export function flatten(line: LogLine, prefix = ''): Map<string, unknown> {
  const fields = new Map<string, unknown>();
  for (const [key, value] of Object.entries(line)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [inner, innerValue] of flatten(value as LogLine, name)) fields.set(inner, innerValue);
    } else {
      fields.set(name, value);
    }
  }
  return fields;
}

/** Whether a JSON value fits an Elasticsearch field type the way ECS uses it. */
export function fitsType(value: unknown, type: string): boolean {
  if (STRING_TYPES.has(type)) return typeof value === 'string';
  if (INTEGER_TYPES.has(type)) return Number.isInteger(value);
  if (NUMBER_TYPES.has(type)) return typeof value === 'number';
  if (type === 'boolean') return typeof value === 'boolean';
  if (type === 'date') return typeof value === 'string' && !Number.isNaN(Date.parse(value));
  if (type === 'ip') return typeof value === 'string' && isIP(value) !== 0;
  return false;
}

/** The problems of one field of a log line: not in ECS nor documented as custom, or the wrong type. */
export function fieldProblem(name: string, value: unknown): string | undefined {
  const ecs = EcsFlat[name as keyof typeof EcsFlat] as { type: string; normalize: string[] } | undefined;
  const custom = CUSTOM_FIELDS.find((field) => field.name === name);
  const type = ecs?.type ?? custom?.type;
  if (!type) return `${name} is neither an ECS field nor documented in deploy/elasticsearch/custom-fields.json`;
  const values = Array.isArray(value) ? value : [value];
  if (Array.isArray(value) && !ecs?.normalize.includes('array')) return `${name} is an array; ECS expects one value`;
  const wrong = values.find((item) => !fitsType(item, type));
  return wrong === undefined ? undefined : `${name} = ${JSON.stringify(wrong)} does not fit type ${type}`;
}

export function ecsType(name: string): string | undefined {
  return (EcsFlat[name as keyof typeof EcsFlat] as { type: string } | undefined)?.type;
}
