import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { EnvSource } from '@app/config';

export type AppName = 'api' | 'batch' | 'mailer';

const ROOT = join(__dirname, '..', '..', '..');

export function builtEntry(app: AppName): string {
  const entry = join(ROOT, 'dist', 'apps', app, 'apps', app, 'src', 'main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run "npm run build" first (npm test does)`);
  return entry;
}

/** A built app running as its own process, with its stdout JSON log lines collected. */
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
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        resolve({ code, signal });
        this.notify();
      }),
    );
  }

  get pid(): number {
    return this.child.pid!;
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /**
   * Resolves with the first log line whose message contains `text`, as soon as the process writes
   * it (the lines are looked at on each output, not on a polling interval). The default timeout
   * allows for a start on a loaded machine (the suite must pass under `stress-ng --cpu 2`).
   */
  async waitForLine(text: string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find((l) => String(l.message).includes(text));
      if (found) return found;
      if (this.child.exitCode !== null || this.child.signalCode !== null)
        throw new Error(`process exited before logging "${text}":\n${this.dump()}`);
      if (Date.now() > until) throw new Error(`timed out waiting for "${text}":\n${this.dump()}`);
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
