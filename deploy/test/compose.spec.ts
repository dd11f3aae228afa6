import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool } from './nginx';

const ROOT = join(__dirname, '..', '..');
const COMPOSE_FILE = join(ROOT, 'docker-compose.yml');
const COMPOSE_SCHEMA = join(ROOT, 'node_modules', 'dclint', 'schemas', 'compose.schema.json');

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  env_file?: string;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: number };
}

const compose = parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const services = compose.services;

describe('docker-compose.yml', () => {
  let projectDir: string;

  beforeAll(() => {
    // Compose needs the .env the file names; the example's values stand in for real secrets.
    projectDir = mkdtempSync(join(tmpdir(), 'bo-compose-'));
    copyFileSync(COMPOSE_FILE, join(projectDir, 'docker-compose.yml'));
    copyFileSync(join(ROOT, '.env.example'), join(projectDir, '.env'));
  });
  afterAll(() => rmSync(projectDir, { recursive: true, force: true }));

  it("is valid for Debian's docker-compose (config -q, no daemon needed)", () => {
    const binary = requireTool('docker-compose', 'apt-get install -y docker-compose');
    const result = spawnSync(binary, ['config', '-q'], { cwd: projectDir, encoding: 'utf8' });
    expect(`${result.stdout}${result.stderr}`).toBe('');
    expect(result.status).toBe(0);
  });

  it('follows the Compose specification schema shipped by dclint', () => {
    // Draft 07 under an https $schema URL Ajv does not know by that name: drop the pointer.
    const { $schema: _draft, ...schema } = JSON.parse(readFileSync(COMPOSE_SCHEMA, 'utf8')) as { $schema: string };
    const ajv = new Ajv({ allErrors: true, strict: false });
    const validate = ajv.compile(schema);
    const raw = parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as unknown;
    expect(validate(raw) ? [] : validate.errors).toEqual([]);
    expect(validate({ services: { api: { imag: 'boxoffice' } } })).toBe(false);
  });

  it('has every service of the deployment', () => {
    expect(Object.keys(services).sort()).toEqual([
      'api',
      'batch',
      'elasticsearch',
      'filebeat',
      'kibana',
      'logstash',
      'maildev',
      'mailer',
      'nginx',
      'postgres',
      'rabbitmq',
      'redis',
    ]);
  });

  it('publishes only Nginx to the network; operator UIs bind to loopback', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const port of service.ports ?? []) {
        if (name === 'nginx') expect(port).toMatch(/^'?\$\{HTTP_PORT:-\d+\}:80$/);
        else expect(port, `${name} publishes ${port}`).toMatch(/^127\.0\.0\.1:/);
      }
    }
    expect(services.api.ports).toBeUndefined();
  });

  it('runs api, batch and mailer from one image, api scalable, secrets from .env', () => {
    for (const app of ['api', 'batch', 'mailer']) {
      expect(services[app].image).toBe('boxoffice:latest');
      expect(services[app].command).toEqual([app]);
      expect(services[app].env_file).toBe('.env');
      expect(services[app].volumes).toContain('app-logs:/var/log/boxoffice');
      for (const dependency of ['postgres', 'redis', 'rabbitmq']) {
        expect(services[app].depends_on?.[dependency]).toEqual({ condition: 'service_healthy' });
      }
    }
    expect(services.api.deploy?.replicas).toBeGreaterThanOrEqual(2);
    expect(services.nginx.depends_on?.api).toEqual({ condition: 'service_healthy' });
  });

  it('gives every stateful service a volume and a healthcheck', () => {
    for (const name of ['postgres', 'redis', 'rabbitmq', 'elasticsearch']) {
      expect(services[name].healthcheck?.test.length, name).toBeGreaterThan(0);
      expect(
        services[name].volumes?.some((volume) => volume.split(':')[0] in compose.volumes),
        name,
      ).toBe(true);
    }
    for (const name of ['logstash', 'kibana', 'nginx']) expect(services[name].healthcheck, name).toBeDefined();
  });

  it('serves metrics and liveness on METRICS_PORT, never published, and health-checks batch and mailer there', () => {
    for (const app of ['api', 'batch', 'mailer']) {
      expect(services[app].environment?.METRICS_PORT, app).toBe('9464');
      expect(services[app].ports, app).toBeUndefined();
    }
    for (const app of ['batch', 'mailer']) {
      expect(services[app].healthcheck?.test, app).toEqual(['CMD', 'node', '/usr/local/lib/boxoffice/healthcheck.mjs']);
    }
    const check = readFileSync(join(ROOT, 'deploy', 'docker', 'healthcheck.mjs'), 'utf8');
    expect(check).toContain("processName === 'batch' || processName === 'mailer'");
    expect(check).toContain('/health/live');
  });

  it('runs Redis with AOF and fsync on every write', () => {
    const command = services.redis.command!.join(' ');
    expect(command).toContain('--appendonly yes');
    expect(command).toContain('--appendfsync always');
  });

  it('lets Filebeat read the apps log volume and mounts only files that exist', () => {
    expect(services.filebeat.volumes).toContain('app-logs:/var/log/boxoffice:ro');
    for (const service of Object.values(services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0];
        if (source.startsWith('./')) expect(existsSync(join(ROOT, source)), source).toBe(true);
      }
    }
  });

  it('defines in .env.example every variable the Compose file needs', () => {
    const text = readFileSync(COMPOSE_FILE, 'utf8');
    const required = [...text.matchAll(/\$\{([A-Z_]+):\?/g)].map((match) => match[1]);
    const example = readFileSync(join(ROOT, '.env.example'), 'utf8');
    for (const name of new Set(required)) expect(example).toMatch(new RegExp(`^${name}=.+`, 'm'));
  });
});
