import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CUSTOM_FIELDS, ecsType } from './ecs';

const DEPLOY = join(__dirname, '..');
const read = (path: string) => readFileSync(join(DEPLOY, path), 'utf8');

interface SavedObject {
  id: string;
  type: string;
  attributes: Record<string, unknown>;
  references: { name: string; type: string; id: string }[];
}

/** Field name -> type of an index template's mapping, with dotted names. */
function mappedFields(
  properties: Record<string, { type?: string; properties?: object }>,
  prefix = '',
): Map<string, string> {
  const fields = new Map<string, string>();
  for (const [key, mapping] of Object.entries(properties)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (mapping.properties) {
      for (const entry of mappedFields(mapping.properties as Record<string, object>, name)) fields.set(...entry);
    } else {
      fields.set(name, mapping.type!);
    }
  }
  return fields;
}

/** The Logstash config language has no parser on npm: strip comments and strings, check the blocks. */
function logstashBlocks(text: string): string[] {
  const code = text
    .split('\n')
    .map((line) => line.replace(/#.*$/, ''))
    .join('\n')
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\/(?:[^/\\\n]|\\.)+\//g, '//');
  let depth = 0;
  const topLevel: string[] = [];
  for (const match of code.matchAll(/([a-z_]+)\s*\{|\}|\{/g)) {
    if (match[0] === '}') {
      depth -= 1;
      if (depth < 0) throw new Error('unbalanced }');
    } else {
      if (depth === 0) topLevel.push(match[1] ?? '{');
      depth += 1;
    }
  }
  if (depth !== 0) throw new Error(`${depth} unclosed {`);
  return topLevel;
}

describe('log pipeline configuration', () => {
  it('Filebeat reads every container folder of the log volume as ECS JSON lines and sends to Logstash', () => {
    const config = parse(read('filebeat/filebeat.yml')) as {
      'filebeat.inputs': { type: string; paths: string[]; parsers: { ndjson?: Record<string, unknown> }[] }[];
      'output.logstash': { hosts: string[] };
    };
    const [input] = config['filebeat.inputs'];
    expect(input.type).toBe('filestream');
    expect(input.paths).toEqual(['/var/log/boxoffice/*/*.log']);
    expect(input.parsers[0].ndjson).toMatchObject({ target: '', expand_keys: true, add_error_key: true });
    expect(config['output.logstash'].hosts).toEqual(['logstash:5044']);
  });

  it('Logstash pipeline has balanced blocks, a beats input, and routes to an index per app', () => {
    const pipelines = readdirSync(join(DEPLOY, 'logstash', 'pipeline')).filter((name) => name.endsWith('.conf'));
    expect(pipelines).toEqual(['boxoffice.conf']);
    const text = read('logstash/pipeline/boxoffice.conf');
    expect(logstashBlocks(text)).toEqual(['input', 'filter', 'output']);
    expect(text).toMatch(/beats\s*\{\s*port => 5044/);
    expect(text).toContain('index => "boxoffice-%{[@metadata][app]}-%{+YYYY.MM.dd}"');
    expect(text).toContain('add_tag => ["error"]');
    expect(text).toContain('template => "/usr/share/logstash/templates/boxoffice-index-template.json"');
    expect(() => logstashBlocks('input { beats { port => 5044 }')).toThrow('unclosed');
  });

  it('the index template maps ECS fields with their ECS types and custom fields as documented', () => {
    const template = JSON.parse(read('elasticsearch/boxoffice-index-template.json')) as {
      index_patterns: string[];
      template: { mappings: { properties: Record<string, object> } };
    };
    expect(template.index_patterns).toEqual(['boxoffice-*']);
    const mapped = mappedFields(template.template.mappings.properties);
    for (const [name, type] of mapped) {
      const expected = ecsType(name) ?? CUSTOM_FIELDS.find((field) => field.name === name)?.type;
      expect(type, name).toBe(expected);
    }
    for (const custom of CUSTOM_FIELDS) {
      expect(ecsType(custom.name), `${custom.name} is an ECS field`).toBeUndefined();
      expect(mapped.get(custom.name), custom.name).toBe(custom.type);
    }
  });

  it('the Kibana file is NDJSON saved objects: a data view, visualizations, a search and a dashboard that fit together', () => {
    const lines = read('kibana/dashboard.ndjson').trim().split('\n');
    const objects = lines.map((line) => JSON.parse(line) as SavedObject);
    const byKey = new Map(objects.map((object) => [`${object.type}:${object.id}`, object]));
    expect(byKey.size).toBe(objects.length);
    expect(
      objects.filter((object) => object.type === 'index-pattern').map((object) => object.attributes.title),
    ).toEqual(['boxoffice-*']);
    expect(objects.filter((object) => object.type === 'visualization').length).toBe(9);
    expect(objects.filter((object) => object.type === 'dashboard').length).toBe(1);

    for (const object of objects) {
      for (const reference of object.references) {
        expect(byKey.has(`${reference.type}:${reference.id}`), `${object.id} -> ${reference.id}`).toBe(true);
      }
    }

    const template = JSON.parse(read('elasticsearch/boxoffice-index-template.json')) as {
      template: { mappings: { properties: Record<string, object> } };
    };
    const mapped = mappedFields(template.template.mappings.properties);
    for (const visualization of objects.filter((object) => object.type === 'visualization')) {
      const state = JSON.parse(String(visualization.attributes.visState)) as {
        aggs: { params: { field?: string } }[];
      };
      for (const field of state.aggs.map((agg) => agg.params.field).filter(Boolean)) {
        expect(mapped.has(field!), `${visualization.id} uses ${field}`).toBe(true);
      }
    }

    // Every route that sells has its line on the sales panel, the window's too (presale trial
    // 2026-12-07, L2: it counted only the online holds and purchases).
    const sales = objects.find((object) => object.id === 'boxoffice-sales-per-minute')!;
    const salesState = JSON.parse(String(sales.attributes.visState)) as {
      aggs: { params: { filters?: { input: { query: string }; label: string }[] } }[];
    };
    const salesFilters = salesState.aggs.flatMap((agg) => agg.params.filters ?? []).map((filter) => filter.input.query);
    expect(salesFilters).toEqual([
      'url.route : "/api/v1/reservations"',
      'url.route : "/api/v1/purchases"',
      'url.route : "/api/v1/box-office/performances/:id/sales"',
    ]);

    const dashboard = objects.find((object) => object.type === 'dashboard')!;
    const panels = JSON.parse(String(dashboard.attributes.panelsJSON)) as { panelRefName: string }[];
    expect(panels.map((panel) => panel.panelRefName).sort()).toEqual(
      dashboard.references.map((reference) => reference.name).sort(),
    );
    expect(dashboard.references.map((reference) => reference.id)).toEqual(
      expect.arrayContaining([
        'boxoffice-requests-by-status',
        'boxoffice-latency-by-route',
        'boxoffice-errors-per-minute',
        'boxoffice-sales-per-minute',
        'boxoffice-flush-lag',
        'boxoffice-queue-length',
        'boxoffice-queue-admitted',
        'boxoffice-queue-active',
        'boxoffice-queue-eta-error',
      ]),
    );
  });
});
