#!/usr/bin/env node
// `npm run start:cluster -- --replicas N [--port P] [--redis-cluster]`: the scaled-out stack on this
// machine without Docker. Builds, starts N `api` processes on their own ports, `batch`, `mailer`, a
// mail catcher (unless SMTP_URL is set) and Debian's nginx in front of the api processes on port P
// (default 8080), rendered from the same template as Docker Compose. `--redis-cluster` runs them
// all on a local 3-primary, 3-replica Redis Cluster (ports 7000-7005) instead of REDIS_URL. The
// configuration is read as the apps read it (libs/config, after the build): a bad value stops it
// before anything starts, with the apps' message. A process that dies is restarted
// (scripts/local-stack.mjs ProcessGroup); Ctrl-C or SIGTERM stops everything, the mail catcher last.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { localValues, renderTemplate } from '../deploy/nginx/render.mjs';
import { childEnv, readConfig } from './config.mjs';
import {
  announceWhenReady,
  APP_NODE_OPTIONS,
  appEntry,
  buildOrExit,
  mailViewerLine,
  ProcessGroup,
  startLocalRedisCluster,
} from './local-stack.mjs';

const { values: options } = parseArgs({
  options: {
    replicas: { type: 'string', default: '2' },
    port: { type: 'string', default: '8080' },
    'redis-cluster': { type: 'boolean', default: false },
  },
});
const replicas = Number(options.replicas);
if (!Number.isInteger(replicas) || replicas < 1 || replicas > 32) {
  console.error(`--replicas must be a whole number from 1 to 32, got "${options.replicas}"`);
  process.exit(1);
}
const nginxPort = Number(options.port);

if (spawnSync('sh', ['-c', 'command -v nginx']).status !== 0) {
  console.error(
    '✗ nginx is not installed. On Debian: apt-get install -y nginx (it need not run as a service; this script starts its own).',
  );
  process.exit(1);
}

buildOrExit();
// After the build: libs/config comes from it.
const { env, mailCatcher: catcher } = readConfig();
const apiPorts = Array.from({ length: replicas }, (_, i) => env.PORT + 1 + i);
if (apiPorts.at(-1) > 65535) {
  console.error(`✗ the api processes take ports PORT+1 to PORT+${replicas}: PORT=${env.PORT} leaves no room for them`);
  process.exit(1);
}

const runtimeDir = mkdtempSync(join(tmpdir(), 'boxoffice-nginx-'));
chmodSync(runtimeDir, 0o755);
mkdirSync(join(runtimeDir, 'temp'));
const configPath = join(runtimeDir, 'nginx.conf');
// A local cluster is for development: X-Upstream names the replica that answered.
writeFileSync(
  configPath,
  renderTemplate(localValues({ listen: `127.0.0.1:${nginxPort}`, apiPorts, runtimeDir, upstreamHeader: true })),
);

// nginx finishes its in-flight requests on SIGQUIT; SIGTERM would drop them.
const group = new ProcessGroup({
  stopSignal: (child) => (child.spawnargs[0] === 'nginx' ? 'SIGQUIT' : 'SIGTERM'),
  onStopped: () => rmSync(runtimeDir, { recursive: true, force: true }),
});
// METRICS_PORT stays unset here: one port cannot serve every process of this machine, so each
// api serves /metrics on its own port, and batch and mailer serve no HTTP.
const redisCluster = options['redis-cluster'] ? await startLocalRedisCluster(group) : {};
const extra = childEnv({ ...redisCluster, ...group.startMailCatcher(catcher), METRICS_PORT: '' });
apiPorts.forEach((port, i) =>
  group.run(`api-${i + 1}`, process.execPath, [...APP_NODE_OPTIONS.api, appEntry('api')], {
    ...extra,
    HOST: '127.0.0.1',
    PORT: String(port),
  }),
);
group.run('batch', process.execPath, [...APP_NODE_OPTIONS.batch, appEntry('batch')], extra);
group.run('mailer', process.execPath, [...APP_NODE_OPTIONS.mailer, appEntry('mailer')], extra);
group.run('nginx', 'nginx', [
  '-p',
  runtimeDir,
  '-c',
  configPath,
  '-e',
  join(runtimeDir, 'error.log'),
  '-g',
  'daemon off;',
]);

const clusterNodes = redisCluster.REDIS_CLUSTER_NODES ?? env.REDIS_CLUSTER_NODES;
console.log(`
boxoffice cluster is starting: ${replicas} api processes (ports ${apiPorts.join(', ')}) behind nginx
  API          http://127.0.0.1:${nginxPort}/api/v1
  Swagger UI   http://127.0.0.1:${nginxPort}/docs
  Health       http://127.0.0.1:${nginxPort}/health/ready
  Metrics      per replica only, e.g. http://127.0.0.1:${apiPorts[0]}/metrics (nginx answers 404)
  Nginx        ${configPath} · access log ${join(runtimeDir, 'access.log')}
  Mail viewer  ${mailViewerLine(catcher, env.SMTP_BULK_URL)}
  Redis        ${clusterNodes ? `Cluster ${clusterNodes}` : env.REDIS_URL}
Ctrl-C stops everything.
`);
void announceWhenReady(`http://127.0.0.1:${nginxPort}/health/ready`);
