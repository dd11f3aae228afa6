#!/usr/bin/env node
// Builds api, batch and mailer into dist/ unless dist was built from exactly the current sources.
// The inputs of the build (apps/ and libs/ without tests, the Nest and TypeScript configuration,
// the lockfile) are hashed; the hash of the last good build sits in dist/.build-inputs. Every build
// goes through here so that it records its inputs: `npm run build` (with --force: builds even when
// current), `npm test` (pretest), CI, `npm start`, `seed`, `admin:create`, `migration:*` and the
// load test. So one run builds at most once, and a command run beside a running stack never
// rebuilds dist from under it when dist is current.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Where the hash of the last good build is kept, under the root. */
const STAMP = join('dist', '.build-inputs');
/** The apps `nest build` compiles, each into dist/apps/<app>. */
const APPS = ['api', 'batch', 'mailer'];
const CONFIG_FILES = [
  'nest-cli.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'package-lock.json',
  'scripts/bundle-apps.mjs',
];
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

/** SHA-256 over the path and content of every build input under `root`, in a stable order. */
export function inputsHash(root = ROOT) {
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

/**
 * Runs `nest build` for each app in `root`, then bundles each into dist/apps/<app>/main.js (the
 * file a start runs: scripts/bundle-apps.mjs); answers the exit status of the first step that
 * fails, else 0.
 */
function compileApps(root) {
  for (const app of APPS) {
    const build = spawnSync('npm', ['exec', '--no', '--', 'nest', 'build', app], { cwd: root, stdio: 'inherit' });
    if (build.status !== 0) return build.status ?? 1;
  }
  const bundle = spawnSync(process.execPath, [join(root, 'scripts', 'bundle-apps.mjs'), ...APPS], {
    cwd: root,
    stdio: 'inherit',
  });
  return bundle.status ?? 1;
}

/**
 * Builds when dist is missing or stale, or always with `force`; returns true if it built. The
 * stamp is removed before a build and written after a good one only, so a failed or interrupted
 * build leaves dist stale. `root` and `compile` (answers an exit status) are for tests. Exits the
 * process with the build's status if the build fails.
 */
export function buildIfStale({ quiet = false, force = false, root = ROOT, compile = compileApps } = {}) {
  const hash = inputsHash(root);
  const stamp = join(root, STAMP);
  if (!force && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === hash) {
    if (!quiet) console.log('dist is current: no build');
    return false;
  }
  if (!quiet) console.log('building api, batch and mailer into dist/ (a first build takes a minute or two) …');
  rmSync(stamp, { force: true });
  const status = compile(root);
  if (status !== 0) process.exit(status);
  writeFileSync(stamp, `${hash}\n`);
  return true;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  buildIfStale({ force: process.argv.includes('--force') });
}
