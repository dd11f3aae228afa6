// Renders deploy/nginx/nginx.conf.template the way the nginx image's envsubst does for Docker
// Compose: each ${BOXOFFICE_…} placeholder is replaced by its value; every other `$` is Nginx's.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NGINX_TEMPLATE = join(dirname(fileURLToPath(import.meta.url)), 'nginx.conf.template');

/**
 * Most connections Nginx opens to one api replica at once (`max_conns`), which bounds the requests
 * a replica has queued or in hand: twice the api's SHED_MAX_IN_FLIGHT (256) and well below its
 * LISTEN_BACKLOG (2048), so its kernel queue never overflows (no connect time-out on a busy
 * replica) and never holds more than it can answer while a client still waits. Past it on every
 * replica Nginx answers 503 at once. A waiting room's event stream holds one for as long as it is
 * open: raise it above the streams a replica holds.
 */
export const API_MAX_CONNS = 512;

/**
 * Passive health and the connection cap of each api replica; docker-compose.yml uses the same
 * values.
 */
export const API_SERVER_PARAMETERS = serverParameters(API_MAX_CONNS);

/** The parameters of each api `server` line, with a cap of `maxConns` connections (0: none). */
export function serverParameters(maxConns) {
  return `max_fails=2 fail_timeout=10s max_conns=${maxConns}`;
}

const PLACEHOLDER = /\$\{(BOXOFFICE_[A-Z_]+)\}/g;

/** The placeholders the template uses, in order of first appearance. */
export function templatePlaceholders(template = readFileSync(NGINX_TEMPLATE, 'utf8')) {
  return [...new Set([...template.matchAll(PLACEHOLDER)].map((match) => match[1]))];
}

/** Fills every placeholder; a missing value is an error, never an empty string. */
export function renderTemplate(values, template = readFileSync(NGINX_TEMPLATE, 'utf8')) {
  const missing = templatePlaceholders(template).filter((name) => typeof values[name] !== 'string');
  if (missing.length > 0) throw new Error(`nginx template: no value for ${missing.join(', ')}`);
  return template.replace(PLACEHOLDER, (_, name) => values[name]);
}

/**
 * Values for Nginx on this machine in front of api processes on 127.0.0.1: everything Nginx
 * writes (pid, logs, temp files) goes under runtimeDir. upstreamHeader names the answering
 * replica in an X-Upstream response header (a debugging aid; off unless asked for); maxConns is
 * each replica's `max_conns` (API_MAX_CONNS unless given).
 */
export function localValues({ listen, apiPorts, runtimeDir, upstreamHeader = false, maxConns = API_MAX_CONNS }) {
  return {
    BOXOFFICE_LISTEN: listen,
    BOXOFFICE_API_SERVERS: apiPorts
      .map((port) => `server 127.0.0.1:${port} ${serverParameters(maxConns)};`)
      .join('\n        '),
    BOXOFFICE_RESOLVER: '# static upstream addresses: no resolver',
    BOXOFFICE_PID_FILE: join(runtimeDir, 'nginx.pid'),
    BOXOFFICE_ERROR_LOG: join(runtimeDir, 'error.log'),
    BOXOFFICE_ACCESS_LOG: join(runtimeDir, 'access.log'),
    BOXOFFICE_TEMP_DIR: join(runtimeDir, 'temp'),
    BOXOFFICE_UPSTREAM_HEADER: upstreamHeader ? 'on' : 'off',
  };
}
