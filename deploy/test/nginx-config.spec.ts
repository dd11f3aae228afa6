import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { API_SERVER_PARAMETERS, localValues, renderTemplate, templatePlaceholders } from '../nginx/render.mjs';
import { nginxBinary, nginxRuntimeDir, testNginxConfig } from './nginx';

const ROOT = join(__dirname, '..', '..');

function composeNginxEnvironment(): Record<string, string> {
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: { nginx: { environment: Record<string, string> } };
  };
  return compose.services.nginx.environment;
}

/** Open-source Nginx resolves upstream servers at run time (`resolve`) from 1.27.3 on. */
function nginxSupportsResolve(): boolean {
  const version = /nginx\/(\d+)\.(\d+)\.(\d+)/.exec(spawnSync(nginxBinary(), ['-v'], { encoding: 'utf8' }).stderr);
  const [major, minor, patch] = version!.slice(1).map(Number);
  return major > 1 || (major === 1 && (minor > 27 || (minor === 27 && patch >= 3)));
}

describe('the Nginx template', () => {
  let runtimeDir: string | undefined;
  afterEach(() => runtimeDir && rmSync(runtimeDir, { recursive: true, force: true }));

  it('renders for npm run start:cluster and passes nginx -t', () => {
    runtimeDir = nginxRuntimeDir();
    const config = renderTemplate(localValues({ listen: '127.0.0.1:18080', apiPorts: [13001, 13002], runtimeDir }));
    writeFileSync(join(runtimeDir, 'nginx.conf'), config);
    const result = testNginxConfig(join(runtimeDir, 'nginx.conf'), runtimeDir);
    expect(result.output).toBe('');
    expect(result.ok).toBe(true);
    expect(config).toContain(`server 127.0.0.1:13001 ${API_SERVER_PARAMETERS};`);
    expect(config).toContain(`server 127.0.0.1:13002 ${API_SERVER_PARAMETERS};`);
  });

  it("caps no replica by default (a waiting room's event streams hold a connection each), and one given a cap", () => {
    runtimeDir = nginxRuntimeDir();
    const values = { listen: '127.0.0.1:18080', apiPorts: [13001], runtimeDir };
    expect(renderTemplate(localValues(values))).toContain('server 127.0.0.1:13001 max_fails=2 fail_timeout=10s;');
    expect(renderTemplate(localValues({ ...values, maxConns: 512 }))).toContain(
      'server 127.0.0.1:13001 max_fails=2 fail_timeout=10s max_conns=512;',
    );
  });

  it("renders with docker-compose.yml's values, and the result passes nginx -t", () => {
    const environment = composeNginxEnvironment();
    expect(
      Object.keys(environment)
        .filter((name) => name.startsWith('BOXOFFICE_'))
        .sort(),
    ).toEqual(templatePlaceholders().sort());
    const compose = renderTemplate(environment);
    expect(environment.BOXOFFICE_UPSTREAM_HEADER).toBe('off');
    expect(compose).toContain('resolver 127.0.0.11');
    expect(compose).toContain(`server api:3000 resolve ${API_SERVER_PARAMETERS};`);

    // Here the name "api" does not resolve, and Debian 12's Nginx (1.22) predates `resolve`:
    // check the same configuration with a local address (and without `resolve` when too old).
    runtimeDir = nginxRuntimeDir();
    const server = nginxSupportsResolve() ? 'server 127.0.0.1:3000 resolve' : 'server 127.0.0.1:3000';
    const local = renderTemplate({
      ...environment,
      BOXOFFICE_API_SERVERS: environment.BOXOFFICE_API_SERVERS.replace('server api:3000 resolve', server),
      BOXOFFICE_LISTEN: '127.0.0.1:18081',
      BOXOFFICE_PID_FILE: join(runtimeDir, 'nginx.pid'),
      BOXOFFICE_ERROR_LOG: join(runtimeDir, 'error.log'),
      BOXOFFICE_ACCESS_LOG: join(runtimeDir, 'access.log'),
      BOXOFFICE_TEMP_DIR: join(runtimeDir, 'temp'),
    });
    writeFileSync(join(runtimeDir, 'nginx.conf'), local);
    const result = testNginxConfig(join(runtimeDir, 'nginx.conf'), runtimeDir);
    expect(result.output).toBe('');
    expect(result.ok).toBe(true);
  });

  it('refuses to render with a value missing', () => {
    const values = localValues({ listen: '127.0.0.1:18080', apiPorts: [13001], runtimeDir: '/tmp/x' });
    delete values.BOXOFFICE_RESOLVER;
    expect(() => renderTemplate(values)).toThrow('BOXOFFICE_RESOLVER');
  });

  it('balances with least_conn and keepalive, retries only what is safe, and shields /metrics', () => {
    const template = readFileSync(join(ROOT, 'deploy', 'nginx', 'nginx.conf.template'), 'utf8');
    const directives = template
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
    for (const directive of [
      'least_conn;',
      'keepalive 64;',
      'proxy_http_version 1.1;',
      'proxy_set_header Connection "";',
      'proxy_set_header X-Request-Id $boxoffice_request_id;',
      'proxy_set_header X-Forwarded-For $remote_addr;',
      'proxy_set_header X-Forwarded-Proto $scheme;',
      'proxy_next_upstream error timeout;',
      'proxy_read_timeout 300s;',
      'proxy_send_timeout 300s;',
      'limit_req zone=boxoffice_login burst=20 nodelay;',
      'limit_req zone=boxoffice_signup burst=10 nodelay;',
      'client_max_body_size 128k;',
      'add_header X-Upstream $boxoffice_upstream_header always;',
      'error_page 404 @boxoffice_404;',
      'error_page 413 @boxoffice_413;',
      'error_page 429 @boxoffice_429;',
      'error_page 502 = @boxoffice_502;',
      'error_page 504 @boxoffice_504;',
    ]) {
      expect(directives).toContain(directive);
    }
    expect(directives.join('\n')).not.toContain('non_idempotent');
    // The api's 503 (Redis down) with its Retry-After reaches the client: no status is retried on
    // another replica (no http_503), and no header of the answer is hidden but the request id.
    expect(directives.filter((line) => line.startsWith('proxy_next_upstream '))).toEqual([
      'proxy_next_upstream error timeout;',
    ]);
    expect(directives.filter((line) => line.startsWith('proxy_hide_header'))).toEqual([
      'proxy_hide_header X-Request-Id;',
    ]);
    expect(directives.join('\n')).not.toContain('proxy_intercept_errors');
    expect(template).toMatch(/location = \/metrics \{\s+return 404;/);
    expect(template).toMatch(/location = \/api\/v1\/auth\/login \{\s+limit_req /);
    expect(template).toMatch(/location = \/api\/v1\/auth\/signup \{\s+limit_req /);
  });
});
