#!/usr/bin/env node
// `node bench/gc-window.mjs <log> [start] [stop]`: the api's garbage collections inside one measured
// window of a bench log written with `BENCH_API_NODE_ARGS='--trace-gc-nvp'` (V8 prints one
// name=value line a collection on the api's stdout, which `npm run bench` inherits). The window runs
// from the first `start` (default: the seat-id hold phase's autocannon line) to the first `stop`
// after it (default: the hold phase's CPU line); pass e.g. `'[40960:'` as `stop` to end at a
// BENCH_CPU_SLICE mark. Prints the scavenges' count and pauses (ms, main thread; the parallel phase
// and the helper threads' `background.scavenge.parallel` apart), the MB they promoted to the old
// generation and copied within the young one, then each collection's line, then the major GCs.
// Used for docs/performance.md, "Hold route: what a hold promotes".

import { readFileSync } from 'node:fs';

const [file, start = 'Running 50000 requests', stop = 'hold one free seat (POST /reservations): server'] =
  process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/gc-window.mjs <bench log> [start mark] [stop mark]');
  process.exit(2);
}
const text = readFileSync(file, 'utf8');
const from = text.indexOf(start);
const to = from < 0 ? -1 : text.indexOf(stop, from);
if (from < 0 || to < 0) {
  console.error(`no window from "${start}" to "${stop}" in ${file}`);
  process.exit(1);
}
const collections = [
  ...text.slice(from, to).matchAll(/(\d+) ms: pause=([\d.]+) mutator=[\d.]+ gc=(\w+) ([^\n]*)/g),
].map((match) => ({
  at: Number(match[1]),
  pause: Number(match[2]),
  kind: match[3],
  ...Object.fromEntries([...match[4].matchAll(/([\w.]+)=([\d.]+)/g)].map(([, name, value]) => [name, Number(value)])),
}));
const scavenges = collections.filter((gc) => gc.kind === 's');
const sum = (name, list = scavenges) => list.reduce((total, gc) => total + (gc[name] ?? 0), 0);
const mb = (bytes) => (bytes / 1e6).toFixed(1);
console.log(
  `${scavenges.length} scavenges: pause ${sum('pause').toFixed(0)} ms (parallel phase ${sum('scavenge.parallel').toFixed(0)}, ` +
    `roots ${sum('scavenge.roots').toFixed(1)}, weak handles ${(sum('scavenge.weak_global_handles.identify') + sum('scavenge.weak_global_handles.process')).toFixed(1)}), ` +
    `helper threads ${sum('background.scavenge.parallel').toFixed(0)} ms`,
);
console.log(
  `allocated ${mb(sum('allocated'))} MB, promoted ${mb(sum('promoted'))} MB, copied within the young generation ` +
    `${mb(sum('new_space_survived'))} MB; pause per MB promoted or copied ` +
    `${(sum('pause') / ((sum('promoted') + sum('new_space_survived')) / 1e6)).toFixed(2)} ms`,
);
for (const gc of collections) {
  console.log(
    `${gc.at} ms ${gc.kind === 's' ? 'scavenge' : gc.kind}: pause ${gc.pause} ms, promoted ${mb(gc.promoted ?? 0)} MB, ` +
      `copied ${mb(gc.new_space_survived ?? 0)} MB, allocated ${mb(gc.allocated ?? 0)} MB, heap after ${mb(gc.total_size_after ?? 0)} MB`,
  );
}
const major = collections.filter((gc) => gc.kind !== 's');
console.log(
  `${major.length} other collections in the window${major.length ? `: ${major.map((gc) => `${gc.kind} ${gc.pause} ms`).join(', ')}` : ''}`,
);
