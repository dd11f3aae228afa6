// What the callgrind harnesses share (bench/best-available-callgrind.mjs,
// bench/hold-purchase-callgrind.mjs): switching a valgrind-run redis-server's counting, reading the
// instructions of its newest dump, and Redis's own EVALSHA figures.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** `callgrind_control <args> <pid>`: e.g. ('-i', 'on') to start counting, ('-d') to dump. */
export function callgrindControl(pid, ...args) {
  execFileSync('callgrind_control', [...args, pid], { stdio: 'ignore' });
}

/**
 * Instructions inside EVALSHA (inclusive: the scripts and the commands they call) in the newest
 * callgrind dump in `dir`; the dump's total also counts Redis's timers, which run more often the
 * slower the run.
 */
export function lastDumpInstructions(dir) {
  const newest = readdirSync(dir)
    .filter((name) => name.startsWith('callgrind.out'))
    .map((name) => ({ name, at: statSync(join(dir, name)).mtimeMs }))
    .sort((a, b) => b.at - a.at)[0];
  const annotated = execFileSync('callgrind_annotate', ['--inclusive=yes', join(dir, newest.name)]).toString();
  const match = /^\s*([\d,]+) \([^)]*\)\s+\S*evalShaCommand\b/m.exec(annotated);
  return Number(match[1].replaceAll(',', ''));
}

/** EVALSHA's calls and microseconds so far, from INFO commandstats: `{calls, usec}`. */
export async function evalshaStats(redis) {
  const info = await redis.info('commandstats');
  const match = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(info);
  return match ? { calls: Number(match[1]), usec: Number(match[2]) } : { calls: 0, usec: 0 };
}
