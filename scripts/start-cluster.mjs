#!/usr/bin/env node
// `npm run start:cluster -- --replicas N [--port P]`: the scaled-out stack on this machine without
// Docker. Builds, starts N `api` processes on their own ports, `batch`, `mailer`, a mail catcher
// (unless SMTP_URL is set) and Debian's nginx in front of the api processes on port P (default
// 8080), rendered from the same template as Docker Compose. Ctrl-C or SIGTERM stops everything.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { localValues, renderTemplate } from '../deploy/nginx/render.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
const MAIL_WEB_PORT = 1080;
const MAIL_SMTP_PORT = 1025;
const FIRST_API_PORT = Number(env.PORT ?? '3000') + 1;

const { values: options } = parseArgs({
  options: { replicas: { type: 'string', default: '2' }, port: { type: 'string', default: '8080' } },
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

console.log('building…');
const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const runtimeDir = mkdtempSync(join(tmpdir(), 'boxoffice-nginx-'));
chmodSync(runtimeDir, 0o755);
mkdirSync(join(runtimeDir, 'temp'));
const apiPorts = Array.from({ length: replicas }, (_, i) => FIRST_API_PORT + i);
const configPath = join(runtimeDir, 'nginx.conf');
writeFileSync(configPath, renderTemplate(localValues({ listen: `127.0.0.1:${nginxPort}`, apiPorts, runtimeDir })));

const children = [];
let stopping = false;
function run(name, command, args, extraEnv = {}) {
  const child = spawn(command, args, { cwd: root, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = `[${name}]`.padEnd(10);
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream.on('data', (chunk) => {
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop();
      for (const line of lines) console.log(`${prefix}${line}`);
    });
  }
  child.on('exit', (code, signal) => {
    console.log(`${prefix}exited (${signal ?? code})`);
    if (!stopping) stop(code ?? 1);
  });
  children.push(child);
}

const extra = {};
if (!env.SMTP_URL) {
  run('mail', join(root, 'node_modules', '.bin', 'maildev'), [
    ...['--smtp', String(MAIL_SMTP_PORT), '--web', String(MAIL_WEB_PORT)],
    ...['--ip', '127.0.0.1', '--web-ip', '127.0.0.1'],
  ]);
  extra.SMTP_URL = `smtp://127.0.0.1:${MAIL_SMTP_PORT}`;
}
const entry = (app) => join(root, 'dist', 'apps', app, 'apps', app, 'src', 'main.js');
apiPorts.forEach((port, i) => run(`api-${i + 1}`, process.execPath, [entry('api')], { ...extra, PORT: String(port) }));
run('batch', process.execPath, [entry('batch')], extra);
run('mailer', process.execPath, [entry('mailer')], extra);
run('nginx', 'nginx', ['-p', runtimeDir, '-c', configPath, '-e', join(runtimeDir, 'error.log'), '-g', 'daemon off;']);

console.log(`
boxoffice cluster is starting: ${replicas} api processes (ports ${apiPorts.join(', ')}) behind nginx
  API          http://127.0.0.1:${nginxPort}/api/v1
  Swagger UI   http://127.0.0.1:${nginxPort}/docs
  Health       http://127.0.0.1:${nginxPort}/health/ready
  Metrics      per replica only, e.g. http://127.0.0.1:${apiPorts[0]}/metrics (nginx answers 404)
  Nginx        ${configPath} · access log ${join(runtimeDir, 'access.log')}
  Mail viewer  ${env.SMTP_URL ? `(SMTP_URL is set: e-mails go to ${env.SMTP_URL})` : `http://127.0.0.1:${MAIL_WEB_PORT}`}
Ctrl-C stops everything.
`);

function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  console.log('stopping…');
  for (const child of children)
    if (child.exitCode === null) child.kill(child.spawnargs[0] === 'nginx' ? 'SIGQUIT' : 'SIGTERM');
  const force = setTimeout(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    process.exit(1);
  }, 20_000);
  Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null))).then(() => {
    clearTimeout(force);
    rmSync(runtimeDir, { recursive: true, force: true });
    process.exit(code);
  });
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
