import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@app/testing';
import { localValues, renderTemplate } from '../nginx/render.mjs';

/** The path of a tool CI installs (see .ci/run); a clear error, never a silent skip, when missing. */
export function requireTool(name: string, install: string): string {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  if (found.status !== 0) throw new Error(`"${name}" is not installed; install it with: ${install}`);
  return found.stdout.trim();
}

export function nginxBinary(): string {
  return requireTool('nginx', 'apt-get install -y nginx');
}

/** A folder Nginx can run from without root paths; its worker (nobody, under root) can enter it. */
export function nginxRuntimeDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bo-nginx-'));
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'temp'));
  return dir;
}

/** `nginx -t` on a configuration file, run as a non-default instance (own prefix and error log). */
export function testNginxConfig(configPath: string, runtimeDir: string): { ok: boolean; output: string } {
  const result = spawnSync(
    nginxBinary(),
    ['-t', '-q', '-p', runtimeDir, '-c', configPath, '-e', join(runtimeDir, 'error.log')],
    { encoding: 'utf8' },
  );
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

export interface NginxAccessLine {
  request_id: string;
  method: string;
  uri: string;
  status: number;
  upstream_addr: string;
  upstream_status: string;
}

/** Debian's nginx in the foreground in front of api processes on the given ports. */
export class LocalNginx {
  readonly port: number;
  readonly runtimeDir: string;
  private readonly child: ChildProcess;
  private output = '';

  private constructor(port: number, runtimeDir: string) {
    this.port = port;
    this.runtimeDir = runtimeDir;
    const configPath = join(runtimeDir, 'nginx.conf');
    this.child = spawn(
      nginxBinary(),
      ['-p', runtimeDir, '-c', configPath, '-e', join(runtimeDir, 'error.log'), '-g', 'daemon off;'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      stream.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    }
  }

  /**
   * upstreamHeader: name the answering replica in X-Upstream (off, as in Compose, by default);
   * template: the template's text, when a test needs it changed (a shorter timeout, say);
   * maxConns: each replica's `max_conns` (API_MAX_CONNS of render.mjs by default).
   */
  static async start(
    apiPorts: number[],
    {
      upstreamHeader = false,
      template,
      maxConns,
    }: { upstreamHeader?: boolean; template?: string; maxConns?: number } = {},
  ): Promise<LocalNginx> {
    const port = await freePort();
    const runtimeDir = nginxRuntimeDir();
    const config = renderTemplate(
      localValues({ listen: `127.0.0.1:${port}`, apiPorts, runtimeDir, upstreamHeader, maxConns }),
      template,
    );
    writeFileSync(join(runtimeDir, 'nginx.conf'), config);
    const nginx = new LocalNginx(port, runtimeDir);
    await nginx.waitUntilListening();
    return nginx;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  accessLines(): NginxAccessLine[] {
    return readFileSync(join(this.runtimeDir, 'access.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as NginxAccessLine);
  }

  /**
   * Rewrites the running configuration with `change` and reloads it (SIGHUP to the master): new
   * workers take it, the old ones finish the requests they have and exit.
   */
  reload(change: (config: string) => string): void {
    const configPath = join(this.runtimeDir, 'nginx.conf');
    writeFileSync(configPath, change(readFileSync(configPath, 'utf8')));
    this.child.kill('SIGHUP');
  }

  errorLog(): string {
    return readFileSync(join(this.runtimeDir, 'error.log'), 'utf8');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGQUIT');
      await exited;
    }
    rmSync(this.runtimeDir, { recursive: true, force: true });
  }

  private async waitUntilListening(): Promise<void> {
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      if (this.child.exitCode !== null) throw new Error(`nginx exited: ${this.output}`);
      const open = await new Promise<boolean>((resolve) => {
        const socket = net.connect({ host: '127.0.0.1', port: this.port });
        socket.once('connect', () => (socket.destroy(), resolve(true)));
        socket.once('error', () => resolve(false));
      });
      if (open) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`nginx did not listen on ${this.port}: ${this.output}`);
  }
}
