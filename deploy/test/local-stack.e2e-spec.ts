import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '@app/testing';

const HARNESS = join(__dirname, 'process-group-harness.mjs');

/** The harness's output lines (prefixed by child, as `npm start` prints them), and a wait for one. */
class Harness {
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  private readonly waiters: { pattern: RegExp; resolve: (match: RegExpMatchArray) => void }[] = [];

  constructor(readonly process: ChildProcess) {
    let rest = '';
    process.stdout!.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop()!;
      for (const line of lines) {
        this.lines.push(line);
        for (const waiter of [...this.waiters]) {
          const match = waiter.pattern.exec(line);
          if (!match) continue;
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve(match);
        }
      }
    });
    // On close: its last lines are read by then.
    this.exited = new Promise((resolve) => process.once('close', (code) => resolve(code)));
  }

  /** The first line from line `from` on (already printed or still to come) matching `pattern`. */
  waitFor(pattern: RegExp, from = 0): Promise<RegExpMatchArray> {
    for (const line of this.lines.slice(from)) {
      const match = pattern.exec(line);
      if (match) return Promise.resolve(match);
    }
    return new Promise((resolve) => this.waiters.push({ pattern, resolve }));
  }

  /** The pid a child reported from line `from` on. */
  async pid(child: string, from = 0): Promise<number> {
    return Number((await this.waitFor(new RegExp(`^\\[${child}\\]\\s+pid (\\d+)$`), from))[1]);
  }

  index(pattern: RegExp): number {
    return this.lines.findIndex((line) => pattern.test(line));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('scripts/local-stack.mjs ProcessGroup (npm start, npm run start:cluster)', () => {
  let harness: Harness | undefined;

  // In its own process group, as a shell runs `npm start` in the foreground: Ctrl-C is a SIGINT to
  // that whole group.
  const start = async (role: 'group' | 'group-failing' = 'group'): Promise<Harness> => {
    const port = await freePort();
    harness = new Harness(
      spawn(process.execPath, [HARNESS, role, String(port)], {
        detached: true,
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
    );
    return harness;
  };

  afterEach(async () => {
    if (harness && harness.process.exitCode === null && harness.process.signalCode === null) {
      process.kill(harness.process.pid!, 'SIGTERM');
      await harness.exited;
    }
    harness = undefined;
  });

  it('restarts an app killed with SIGKILL after a backoff, saying so, and the others keep running', async () => {
    const stack = await start();
    const [batch, mailer, mail] = [await stack.pid('batch'), await stack.pid('mailer'), await stack.pid('mail')];
    process.kill(batch, 'SIGKILL');
    await stack.waitFor(/^\[batch\]\s+exited \(SIGKILL\)$/);
    const restarting = stack.lines.length;
    await stack.waitFor(/^\[batch\]\s+restarting in 1 s \(restart 1\); the others keep running$/);
    const again = await stack.pid('batch', restarting);
    expect(again).not.toBe(batch);
    expect(alive(again)).toBe(true);
    // Nothing else stopped: the other app, the mail catcher, the script.
    expect([alive(mailer), alive(mail), stack.process.exitCode]).toEqual([true, true, null]);
    expect(stack.lines).not.toContain('stopping…');
  });

  it('stops the whole stack with exit code 1 when an app dies three times in a row right after starting', async () => {
    const stack = await start('group-failing');
    expect(await stack.exited).toBe(1);
    expect(stack.lines.filter((line) => /^\[api\]\s+restarting in/.test(line))).toEqual([
      '[api]     restarting in 1 s (restart 1); the others keep running',
      '[api]     restarting in 2 s (restart 2); the others keep running',
    ]);
    expect(stack.lines).toContain('[api]     died 3 times in a row within seconds of starting: stopping the stack');
    // Stopped as on Ctrl-C: the other apps delivered their mail before the catcher stopped.
    expect(stack.lines).toContain('[mail]    received batch done');
    expect(stack.lines).toContain('[mail]    received mailer done');
  });

  it('on Ctrl-C stops the apps first and the mail catcher last, after the apps delivered their mail', async () => {
    const stack = await start();
    await Promise.all(['batch', 'mailer', 'mail'].map((child) => stack.pid(child)));
    process.kill(-stack.process.pid!, 'SIGINT');
    expect(await stack.exited).toBe(0);
    for (const app of ['batch', 'mailer']) {
      expect(stack.lines).toContain(`[mail]    received ${app} done`);
      expect(stack.index(new RegExp(`^\\[${app}\\]\\s+delivered$`))).toBeGreaterThan(-1);
      expect(stack.index(new RegExp(`^\\[${app}\\]\\s+exited \\(0\\)$`))).toBeLessThan(
        stack.index(/^\[mail\]\s+exited/),
      );
    }
    expect(stack.lines.filter((line) => /undelivered|restarting/.test(line))).toEqual([]);
  });
});
