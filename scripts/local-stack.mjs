// What `npm start` and `npm run start:cluster` share: running the local processes in the
// foreground with prefixed output, the mail catcher, and stopping them all together.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIfStale } from './build-if-stale.mjs';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const MAIL_WEB_PORT = 1080;
export const MAIL_SMTP_PORT = 1025;

export const appEntry = (app) => join(root, 'dist', 'apps', app, 'apps', app, 'src', 'main.js');

export function buildOrExit() {
  buildIfStale();
}

/** Processes that live and die together: one exiting stops the others; Ctrl-C or SIGTERM stops all. */
export class ProcessGroup {
  children = [];
  stopping = false;

  /** @param {{ onStopped?: () => void, stopSignal?: (child) => NodeJS.Signals }} options */
  constructor(options = {}) {
    this.options = options;
    process.on('SIGINT', () => this.stop(0));
    process.on('SIGTERM', () => this.stop(0));
  }

  run(name, command, args, env = process.env) {
    const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
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
      if (!this.stopping) this.stop(code ?? 1);
    });
    this.children.push(child);
    return child;
  }

  /** Starts MailDev unless SMTP_URL is set; returns the environment the apps need to use it. */
  startMailCatcher(env) {
    if (env.SMTP_URL) return {};
    this.run('mail', join(root, 'node_modules', '.bin', 'maildev'), [
      ...['--smtp', String(MAIL_SMTP_PORT), '--web', String(MAIL_WEB_PORT)],
      ...['--ip', '127.0.0.1', '--web-ip', '127.0.0.1'],
    ]);
    return { SMTP_URL: `smtp://127.0.0.1:${MAIL_SMTP_PORT}` };
  }

  stop(code = 0) {
    if (this.stopping) return;
    this.stopping = true;
    console.log('stopping…');
    const live = () => this.children.filter((c) => c.exitCode === null && c.signalCode === null);
    for (const child of live()) child.kill(this.options.stopSignal?.(child) ?? 'SIGTERM');
    const force = setTimeout(() => {
      for (const child of live()) child.kill('SIGKILL');
      process.exit(1);
    }, 20_000);
    Promise.all(live().map((c) => new Promise((r) => c.once('exit', r)))).then(() => {
      clearTimeout(force);
      this.options.onStopped?.();
      process.exit(code);
    });
  }
}

export function mailViewerLine(env) {
  return env.SMTP_URL ? `(SMTP_URL is set: e-mails go to ${env.SMTP_URL})` : `http://127.0.0.1:${MAIL_WEB_PORT}`;
}
