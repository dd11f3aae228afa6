#!/usr/bin/env node
// `npm run build` unless dist was built from exactly the current sources. The inputs of the build
// (apps/ and libs/ without tests, the Nest and TypeScript configuration, the lockfile) are hashed;
// the hash of the last good build sits in dist/.build-inputs. `npm test` (pretest), CI and the
// scripts that start the built apps all call this, so one run builds at most once, and never
// rebuilds dist from under test processes that already run it.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const STAMP = join(root, 'dist', '.build-inputs');
const CONFIG_FILES = ['nest-cli.json', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];
const TEST_FILE = /\.(spec|int-spec|e2e-spec|drill-spec)\.ts$/;

function* inputs(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'test' && entry.name !== 'node_modules') yield* inputs(path);
    } else if (!TEST_FILE.test(entry.name)) {
      yield path;
    }
  }
}

/** SHA-256 over the path and content of every build input, in a stable order. */
export function inputsHash() {
  const files = [
    ...inputs(join(root, 'apps')),
    ...inputs(join(root, 'libs')),
    ...CONFIG_FILES.map((f) => join(root, f)),
  ];
  const hash = createHash('sha256');
  for (const file of files.map((f) => relative(root, f)).sort()) {
    hash
      .update(file)
      .update('\0')
      .update(readFileSync(join(root, file)))
      .update('\0');
  }
  return hash.digest('hex');
}

/** Builds when dist is missing or stale; returns true if it built. Exits the process if the build fails. */
export function buildIfStale({ quiet = false } = {}) {
  const hash = inputsHash();
  if (existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() === hash) {
    if (!quiet) console.log('dist is current: no build');
    return false;
  }
  if (!quiet) console.log('building api, batch and mailer into dist/ (a first build takes a minute or two) …');
  const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
  writeFileSync(STAMP, `${hash}\n`);
  return true;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) buildIfStale();
