// The CPU a process has used, read from /proc: what every bench script divides by its requests.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

// Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux).
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

/** CPU time (user + system) a process has used so far, in µs, from /proc/<pid>/stat. */
export function cpuMicros(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
}

/** The machine's CPU time so far, busy (not idle, not waiting on I/O) and in all, in ticks, from /proc/stat. */
function machineTicks() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const all = ticks.reduce((sum, value) => sum + value, 0);
  return { busy: all - ticks[3] - ticks[4], all };
}

/**
 * Waits until the machine is quiet: its busy share of all cores over one `windowMs` window at
 * most `busyShare` (0…1), polling window after window, for at most `timeoutMs`. Answers the
 * windows' busy shares (the first is what was running when the wait began) and the ms waited;
 * `settled` is false when the timeout came first. Why: work a measurement's setup started (an
 * import, a collection, a reconciler's pass over a new performance) must not run in its window.
 */
export async function waitForQuietMachine({ busyShare = 0.15, windowMs = 250, timeoutMs = 15_000 } = {}) {
  const started = Date.now();
  const shares = [];
  for (;;) {
    const before = machineTicks();
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const after = machineTicks();
    const share = (after.busy - before.busy) / Math.max(1, after.all - before.all);
    shares.push(share);
    if (share <= busyShare) return { settled: true, shares, waitedMs: Date.now() - started };
    if (Date.now() - started >= timeoutMs) return { settled: false, shares, waitedMs: Date.now() - started };
  }
}
