import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port';

const run = promisify(execFile);

/** initdb and postgres refuse to run as root: as root, they run as the machine's `postgres` account. */
async function serverAccount(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** Where Debian's packages put a version's programs (not on the PATH): /usr/lib/postgresql/<major>/bin. */
const DEBIAN_VERSIONS = '/usr/lib/postgresql';

/**
 * The path of PostgreSQL's program `name`: found on the PATH, else in the newest version Debian's
 * packages installed. Throws when neither has it.
 */
function serverProgram(name: 'initdb' | 'pg_ctl'): string {
  // The shell's own lookup of the PATH: nothing outside the config module reads the environment.
  const onPath = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
  if (onPath) return onPath;
  const versions = existsSync(DEBIAN_VERSIONS) ? readdirSync(DEBIAN_VERSIONS) : [];
  for (const version of versions.sort((a, b) => Number(b) - Number(a))) {
    const path = join(DEBIAN_VERSIONS, version, 'bin', name);
    if (existsSync(path)) return path;
  }
  throw new Error(`${name} is neither on the PATH nor in ${DEBIAN_VERSIONS}/*/bin: install PostgreSQL's server`);
}

/**
 * A PostgreSQL server of a test's own, in a temporary directory, on a port from `freePort`
 * (20000-31999): one a test may stop and start (`pg_ctl -m fast stop`, as an operator restarts
 * PostgreSQL) without touching the shared server on 5432 that other tests use. Trust
 * authentication for `postgres` on 127.0.0.1; fsync off (a test server's data need not survive the
 * machine). Runs the machine's PostgreSQL programs (`initdb`, `pg_ctl`: those of the shared server).
 */
export class PrivatePostgres {
  private constructor(
    private readonly dir: string,
    readonly port: number,
    private readonly account: { uid: number; gid: number } | undefined,
  ) {}

  /**
   * Stops the server at once when the test process exits without `destroy` (a worker that ended
   * mid-file): a server left running would hold its port and files.
   */
  private readonly stopOnExit = () => {
    try {
      execFileSync(serverProgram('pg_ctl'), ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop'], {
        stdio: 'ignore',
        ...(this.account ?? {}),
      });
    } catch {
      // Not running: nothing to stop.
    }
  };

  /** Creates the cluster (initdb, a few seconds) and starts it. */
  static async start(): Promise<PrivatePostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'bo-pg-'));
    const account = await serverAccount();
    if (account) chownSync(dir, account.uid, account.gid);
    const server = new PrivatePostgres(dir, await freePort(), account);
    process.once('exit', server.stopOnExit);
    await server.pg('initdb', ['-D', server.dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
    await server.startServer();
    return server;
  }

  /** A URL of database `name` on this server. */
  url(name = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${name}`;
  }

  /** Stops the server as `pg_ctl -m fast stop` does: open sessions are ended (57P01), then it refuses connections. */
  async stop(): Promise<void> {
    await this.pg('pg_ctl', ['-D', this.dataDir, '-m', 'fast', '-w', 'stop']);
  }

  /** Starts it again on the same port and data; resolves once it accepts connections. */
  async startServer(): Promise<void> {
    const options = `-c listen_addresses=127.0.0.1 -p ${this.port} -k ${this.dir} -c fsync=off -c max_connections=40`;
    await this.pg('pg_ctl', ['-D', this.dataDir, '-l', join(this.dir, 'server.log'), '-o', options, '-w', 'start']);
  }

  /**
   * Freezes the server as a hung or partitioned one: SIGSTOP to the postmaster and every process
   * it started (backends included). Connections stay open and nothing answers: no new session,
   * no statement. Answers the processes stopped, for {@link thaw}; always thaw them (a finally).
   */
  async freeze(): Promise<number[]> {
    const postmaster = Number(readFileSync(join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    // The postmaster first: it forks no new backend while the others are being stopped.
    process.kill(postmaster, 'SIGSTOP');
    const { stdout } = await run('ps', ['-o', 'pid=', '--ppid', String(postmaster)]);
    const children = stdout
      .split('\n')
      .map(Number)
      .filter((pid) => pid > 0);
    for (const pid of children) process.kill(pid, 'SIGSTOP');
    return [postmaster, ...children];
  }

  /** Lets the processes {@link freeze} stopped run again (SIGCONT); one already gone is passed over. */
  thaw(pids: readonly number[]): void {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // Gone (ended meanwhile): nothing to resume.
      }
    }
  }

  /** Stops the server at once if it runs, and removes its files. */
  async destroy(): Promise<void> {
    process.removeListener('exit', this.stopOnExit);
    await this.pg('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private get dataDir(): string {
    return join(this.dir, 'data');
  }

  private async pg(command: 'initdb' | 'pg_ctl', args: string[]): Promise<void> {
    await run(serverProgram(command), args, { cwd: this.dir, timeout: 60_000, ...(this.account ?? {}) });
  }
}
