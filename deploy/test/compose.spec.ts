import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '../../libs/config/src/env';
import { SHUTDOWN_GRACE_MS } from '../../libs/logging/src/shutdown';
import { requireTool } from './nginx';

const ROOT = join(__dirname, '..', '..');
const COMPOSE_FILE = join(ROOT, 'docker-compose.yml');
const COMPOSE_SCHEMA = join(ROOT, 'node_modules', 'dclint', 'schemas', 'compose.schema.json');

interface Service {
  image?: string;
  profiles?: string[];
  restart?: string;
  build?: unknown;
  command?: string[];
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  env_file?: string;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: number };
  stop_grace_period?: string;
}

/** A Compose duration (`20s`, `1m30s`, `500ms`) in milliseconds. */
function durationMs(value: string): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001 };
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us)/g)];
  expect(parts.map((part) => part[0]).join(''), `duration ${value}`).toBe(value);
  return parts.reduce((total, [, amount, unit]) => total + Number(amount) * units[unit], 0);
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
      'redis-cluster-create',
      'redis-node-1',
      'redis-node-2',
      'redis-node-3',
      'redis-node-4',
      'redis-node-5',
      'redis-node-6',
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

  it('lets api, batch and mailer finish their clean shutdown before Docker kills them', () => {
    // Docker sends SIGTERM, then SIGKILL after stop_grace_period (10 s unless set); each app allows
    // itself SHUTDOWN_GRACE_MS (15 s) to finish what it has in hand, and a few seconds more go to
    // writing its last log lines and exiting.
    for (const app of ['api', 'batch', 'mailer']) {
      const grace = services[app].stop_grace_period;
      expect(grace, app).toBeDefined();
      expect(durationMs(grace!), app).toBeGreaterThanOrEqual(SHUTDOWN_GRACE_MS + 5000);
    }
    expect(durationMs('1m30s')).toBe(90_000);
  });

  it("has PostgreSQL connections for every app's pool at the scale README documents", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const example = readFileSync(join(ROOT, '.env.example'), 'utf8');
    // A pool's size: the service's own environment, else .env (the example's), else the default.
    const fromEnvFile = /^DATABASE_POOL_SIZE=(\d+)$/m.exec(example)?.[1];
    const pool = (app: string) =>
      Number(services[app].environment?.DATABASE_POOL_SIZE ?? fromEnvFile ?? parseEnv({}).DATABASE_POOL_SIZE);
    // PostgreSQL's own default is 100.
    const command = services.postgres.command?.join(' ') ?? '';
    const maxConnections = Number(/max_connections=\$\{POSTGRES_MAX_CONNECTIONS:-(\d+)\}/.exec(command)?.[1] ?? 100);
    // PostgreSQL's superuser_reserved_connections (3 unless set): not for the apps' role.
    const reserved = 3;
    // Each api replica, batch, mailer, and a one-off command beside them (`run --rm api seed`), a pool each.
    const needed = (apiReplicas: number) =>
      apiReplicas * pool('api') + pool('batch') + pool('mailer') + pool('api') + reserved;

    const documented = [...readme.matchAll(/--scale api=(\d+)/g)].map((match) => Number(match[1]));
    const header = [...readFileSync(COMPOSE_FILE, 'utf8').matchAll(/--scale api=(\d+)/g)].map((m) => Number(m[1]));
    const largest = Number(/fits up to `--scale api=(\d+)`/.exec(readme)?.[1]);
    expect(documented).toContain(4);
    for (const replicas of [...documented, ...header, services.api.deploy!.replicas!]) {
      expect(needed(replicas), `--scale api=${replicas}`).toBeLessThanOrEqual(maxConnections);
    }
    // The largest scale README names is the largest that fits.
    expect(needed(largest)).toBeLessThanOrEqual(maxConnections);
    expect(needed(largest + 1)).toBeGreaterThan(maxConnections);
    expect(readme).toContain(`${needed(4)} of ${maxConnections}`);
    expect(example).toMatch(new RegExp(`^# POSTGRES_MAX_CONNECTIONS=${maxConnections}$`, 'm'));
  });

  it("README's deployment commands pass no password as an argument and use Compose v2", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const commands = readme.split('\n').filter((line) => /docker.compose (run|up|exec)/.test(line));
    expect(commands.some((line) => line.includes('admin-create'))).toBe(true);
    for (const line of commands) {
      expect(line).not.toMatch(/--password(?!-stdin)/);
      expect(line).not.toContain('docker-compose ');
    }
    expect(readme).toContain('It needs **Docker Compose v2**');
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

  describe('the cluster profile', () => {
    const NODES = ['redis-node-1', 'redis-node-2', 'redis-node-3', 'redis-node-4', 'redis-node-5', 'redis-node-6'];
    const nodeConfig = readFileSync(join(ROOT, 'deploy', 'redis', 'cluster-node.conf'), 'utf8');
    const setting = (name: string) => new RegExp(`^${name} (.+)$`, 'm').exec(nodeConfig)?.[1];

    /** `docker-compose <args>` in a copy of the project whose .env is the example plus `extra`. */
    function composeWith(extra: string, args: string[]) {
      const dir = mkdtempSync(join(tmpdir(), 'bo-compose-cluster-'));
      try {
        copyFileSync(COMPOSE_FILE, join(dir, 'docker-compose.yml'));
        writeFileSync(join(dir, '.env'), `${readFileSync(join(ROOT, '.env.example'), 'utf8')}\n${extra}`);
        const binary = requireTool('docker-compose', 'apt-get install -y docker-compose');
        return spawnSync(binary, args, { cwd: dir, encoding: 'utf8' });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }

    it('runs six Debian redis nodes and the one-shot create only under the profile', () => {
      const profiled = Object.entries(services).filter(([, service]) => service.profiles);
      expect(profiled.map(([name]) => name).sort()).toEqual(['redis-cluster-create', ...NODES]);
      for (const [name, service] of profiled) {
        expect(service.profiles, name).toEqual(['cluster']);
        expect(service.image, name).toMatch(/^redis:[\d.]+-bookworm$/);
        expect(service.ports, name).toBeUndefined();
      }
      // A default `up` never needs a profile's service.
      for (const [name, service] of Object.entries(services)) {
        if (service.profiles) continue;
        for (const dependency of Object.keys(service.depends_on ?? {})) {
          expect(services[dependency].profiles, `${name} → ${dependency}`).toBeUndefined();
        }
      }
    });

    it('gives each node the shipped config, its own name and its own volume', () => {
      const volumes = new Set<string>();
      for (const name of NODES) {
        const node = services[name];
        expect(node.command, name).toEqual([
          'redis-server',
          '/usr/local/etc/redis/redis.conf',
          '--cluster-announce-hostname',
          name,
        ]);
        expect(node.volumes, name).toContain('./deploy/redis/cluster-node.conf:/usr/local/etc/redis/redis.conf:ro');
        const data = node.volumes!.find((volume) => volume.endsWith(':/data'))!.split(':')[0];
        expect(data in compose.volumes, name).toBe(true);
        volumes.add(data);
        expect(node.healthcheck?.test, name).toEqual(['CMD', 'redis-cli', 'ping']);
      }
      expect(volumes.size).toBe(NODES.length);
    });

    it('ships a node config that refuses writes a failover could undo, durable on each node', () => {
      expect(setting('cluster-enabled')).toBe('yes');
      expect(setting('port')).toBe('6379');
      expect(setting('min-replicas-to-write')).toBe('1');
      const lag = Number(setting('min-replicas-max-lag'));
      expect(lag).toBeGreaterThanOrEqual(1);
      expect(lag).toBeLessThanOrEqual(30);
      expect(setting('appendonly')).toBe('yes');
      expect(setting('appendfsync')).toBe('always');
      expect(setting('cluster-preferred-endpoint-type')).toBe('hostname');
    });

    it('creates the cluster once, from every node, three primaries with a replica each', () => {
      const create = services['redis-cluster-create'];
      expect(create.restart).toBe('no');
      expect(create.command).toEqual(['sh', '/usr/local/bin/create-cluster.sh']);
      expect(create.volumes).toEqual(['./deploy/redis/create-cluster.sh:/usr/local/bin/create-cluster.sh:ro']);
      expect(Object.keys(create.depends_on ?? {}).sort()).toEqual(NODES);
      for (const node of NODES) expect(create.depends_on?.[node]).toEqual({ condition: 'service_healthy' });
      const script = readFileSync(join(ROOT, 'deploy', 'redis', 'create-cluster.sh'), 'utf8');
      expect(script).toContain(`NODES="${NODES.join(' ')}"`);
      expect(script).toMatch(/redis-cli --cluster create \$addresses --cluster-replicas 1 --cluster-yes/);
      // An existing cluster (nodes.conf on the volumes) is kept, not created again.
      expect(script.indexOf('cluster_state:ok')).toBeLessThan(script.indexOf('--cluster create'));
      const shell = spawnSync('sh', ['-n', join(ROOT, 'deploy', 'redis', 'create-cluster.sh')], { encoding: 'utf8' });
      expect(shell.stderr).toBe('');
      expect(shell.status).toBe(0);
    });

    it('points api, batch and mailer at the cluster with the .env of .env.example, and at the single Redis without', () => {
      const example = readFileSync(join(ROOT, '.env.example'), 'utf8');
      const lines = ['COMPOSE_PROFILES', 'REDIS_CLUSTER_NODES'].map((name) => {
        const line = new RegExp(`^# (${name}=\\S+)$`, 'm').exec(example)?.[1];
        expect(line, name).toBeDefined();
        return line!;
      });
      expect(lines[0]).toBe('COMPOSE_PROFILES=cluster');
      const nodes = lines[1].split('=')[1].split(',');
      for (const node of nodes) expect(NODES).toContain(node.replace(/:6379$/, ''));

      const onCluster = composeWith(lines.join('\n'), ['config']);
      expect(onCluster.stderr).toBe('');
      expect(onCluster.status).toBe(0);
      const resolved = parse(onCluster.stdout) as { services: Record<string, Service> };
      expect(Object.keys(resolved.services)).toEqual(expect.arrayContaining(['redis-cluster-create', ...NODES]));
      for (const app of ['api', 'batch', 'mailer']) {
        expect(resolved.services[app].environment?.REDIS_CLUSTER_NODES, app).toBe(nodes.join(','));
      }

      const single = parse(composeWith('', ['config']).stdout) as { services: Record<string, Service> };
      for (const app of ['api', 'batch', 'mailer']) {
        expect(single.services[app].environment?.REDIS_CLUSTER_NODES, app).toBe('');
      }
      // Two docker-compose runs (a Python start-up each): seconds, up to half a minute on a loaded machine.
    }, 120_000);
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
