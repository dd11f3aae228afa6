import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { EnvSource } from '@app/config';

export type AppName = 'api' | 'batch' | 'mailer';

/** The line each built app logs once it is ready. */
export const READY_LINES: Record<AppName, string> = {
  api: 'api listening',
  batch: 'batch started',
  mailer: 'mailer started',
};

/**
 * A start's bound, allowing for a loaded machine (the suite must pass under `stress-ng --cpu 2`): a
 * start is ~2-4 s of CPU, which took over 60 s of wall at a load average of 19-26 on two cores. A
 * start that cannot succeed still ends at once: the wait ends when the process exits.
 */
const START_TIMEOUT_MS = 180_000;

/**
 * The time limit of a test or hook that starts built processes: a start's bound with room for the
 * test's own work (Vitest's limit for other integration tests is 60 s).
 */
export const PROCESS_TEST_TIMEOUT_MS = 300_000;

const ROOT = join(__dirname, '..', '..', '..');

export function builtEntry(app: AppName): string {
  const entry = join(ROOT, 'dist', 'apps', app, 'main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run "npm run build" first (npm test does)`);
  return entry;
}

/** Every AppProcess of this worker that has not exited yet (see `killRunningAppProcesses`). */
const running = new Set<AppProcess>();
let killedOnExit = false;

/**
 * Kills (SIGKILL) every built app this worker started that is still running, and resolves once
 * each has exited; resolves with how many there were. Every integration file runs it after its own
 * teardown (app-process-cleanup.setup.ts), so a process a test never got to stop (a failed start,
 * a test timed out half-way) does not outlive its file.
 */
export async function killRunningAppProcesses(): Promise<number> {
  const left = [...running];
  await Promise.all(left.map((proc) => proc.forceStop()));
  return left.length;
}

/**
 * A built app running as its own process, with its stdout JSON log lines collected. It never
 * outlives its test: a wait for a line that times out kills it, `AppProcess.start` kills it when
 * it does not get ready, `killRunningAppProcesses` kills what a file left, and the worker's exit
 * kills what is still running. The process stays in the worker's process group (no `detached`): a
 * Ctrl-C in the terminal reaches it as before, and a built app starts no processes of its own, so
 * killing its pid kills everything it started.
 */
export class AppProcess {
  readonly lines: Record<string, unknown>[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  /** Called on every new output and on exit: the waits of `waitForLine` look again then. */
  private readonly listeners = new Set<() => void>();

  constructor(app: AppName, env: EnvSource) {
    this.child = spawn(process.execPath, [builtEntry(app)], {
      // Only the test's own environment: nothing of the developer's shell leaks into the app.
      env: { ...env, LOG_CONSOLE: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffered = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const part of parts) {
        try {
          this.lines.push(JSON.parse(part) as Record<string, unknown>);
        } catch {
          this.lines.push({ message: part });
        }
      }
      this.notify();
    });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.lines.push({ message: chunk.toString(), stderr: true });
      this.notify();
    });
    running.add(this);
    if (!killedOnExit) {
      killedOnExit = true;
      // The worker exiting (a crash, a timeout's teardown) takes its processes with it: only
      // synchronous calls run here, and a SIGKILL needs no answer.
      process.once('exit', () => {
        for (const proc of running) proc.child.kill('SIGKILL');
      });
    }
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        running.delete(this);
        resolve({ code, signal });
        this.notify();
      }),
    );
  }

  /**
   * Starts a built app and resolves once it logged `readyLine` (by default the line each app writes
   * when ready: `api listening`, `batch started`, `mailer started`). When it does not get there
   * (it exits first, or `timeoutMs` passes), the process is killed and gone before the error is
   * thrown, so a failed start leaves nothing running.
   */
  static async start(
    app: AppName,
    env: EnvSource,
    { readyLine = READY_LINES[app], timeoutMs = START_TIMEOUT_MS }: { readyLine?: string; timeoutMs?: number } = {},
  ): Promise<AppProcess> {
    const proc = new AppProcess(app, env);
    await proc.waitForLine(readyLine, timeoutMs);
    return proc;
  }

  /** Whether the process has exited (by itself or by a signal). */
  get hasExited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  get pid(): number {
    return this.child.pid!;
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Kills the process (SIGKILL) and resolves once it has exited. */
  async forceStop(): Promise<void> {
    if (this.hasExited) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /**
   * Resolves with the first log line whose message contains `text`, as soon as the process writes
   * it (the lines are looked at on each output, not on a polling interval). The default timeout
   * allows for a start on a loaded machine (the suite must pass under `stress-ng --cpu 2`). On a
   * timeout the process is killed, and has exited, before the error is thrown: the test has failed,
   * and a process left running would outlive it (an api still starting, say, on a dropped database).
   */
  async waitForLine(text: string, timeoutMs = START_TIMEOUT_MS): Promise<Record<string, unknown>> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find((l) => String(l.message).includes(text));
      if (found) return found;
      if (this.hasExited) throw new Error(`process exited before logging "${text}":\n${this.dump()}`);
      if (Date.now() > until) {
        await this.forceStop();
        throw new Error(`timed out waiting for "${text}" after ${timeoutMs} ms (process killed):\n${this.dump()}`);
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.listeners.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.max(0, until - Date.now()) + 1);
        this.listeners.add(done);
      });
    }
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  dump(): string {
    return this.lines.map((l) => String(l.message)).join('\n');
  }
}
