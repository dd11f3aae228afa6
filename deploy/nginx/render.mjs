// Renders deploy/nginx/nginx.conf.template the way the nginx image's envsubst does for Docker
// Compose: each ${BOXOFFICE_…} placeholder is replaced by its value; every other `$` is Nginx's.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NGINX_TEMPLATE = join(dirname(fileURLToPath(import.meta.url)), 'nginx.conf.template');

/**
 * Most connections Nginx opens to one api replica at once (`max_conns`); 0, the default: no cap.
 * A cap bounds the requests a replica has queued or in hand (past it on every replica Nginx
 * answers 503 at once), but it counts every connection, and a waiting room's event stream holds
 * one for as long as it is open: a room of a few thousand streaming buyers would fill it and turn
 * every other request away. The api sheds its own excess (SHED_MAX_IN_FLIGHT, SHED_MAX_QUEUE_MS)
 * and its LISTEN_BACKLOG (2048) holds what Nginx opens, so no cap is needed for the overload
 * trial's F2; set one (e.g. 512, twice SHED_MAX_IN_FLIGHT, below LISTEN_BACKLOG) only where no
 * event streams reach the replicas through this upstream.
 */
export const API_MAX_CONNS = 0;

/**
 * Passive health and the connection cap of each api replica; docker-compose.yml uses the same
 * values.
 */
export const API_SERVER_PARAMETERS = serverParameters(API_MAX_CONNS);

/** The parameters of each api `server` line, with a cap of `maxConns` connections (0: none). */
export function serverParameters(maxConns) {
  return maxConns > 0 ? `max_fails=2 fail_timeout=10s max_conns=${maxConns}` : 'max_fails=2 fail_timeout=10s';
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
