import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildIfStale } from '../../scripts/build-if-stale.mjs';

const ROOT = join(__dirname, '..', '..');

/** A source tree with one app file, one test file and the configuration files that are inputs. */
function sourceTree(): string {
  const root = mkdtempSync(join(tmpdir(), 'build-if-stale-'));
  for (const dir of ['apps/api/src', 'libs/core/src', 'dist', 'scripts'])
    mkdirSync(join(root, dir), { recursive: true });
  writeFileSync(join(root, 'apps/api/src/main.ts'), 'export {};\n');
  writeFileSync(join(root, 'libs/core/src/a.spec.ts'), 'export {};\n');
  for (const file of [
    'nest-cli.json',
    'tsconfig.json',
    'tsconfig.build.json',
    'package-lock.json',
    'scripts/bundle-apps.mjs',
  ]) {
    writeFileSync(join(root, file), '{}\n');
  }
  return root;
}

describe('scripts/build-if-stale.mjs', () => {
  const roots: string[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
    for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
  });

  it('builds once, records the inputs, builds again only when forced or an input changed', () => {
    const root = sourceTree();
    roots.push(root);
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const compile = vi.fn(() => 0);
    expect(buildIfStale({ root, compile })).toBe(true);
    expect(existsSync(join(root, 'dist/.build-inputs'))).toBe(true);
    expect(buildIfStale({ root, compile })).toBe(false);
    expect(buildIfStale({ root, compile, force: true })).toBe(true);
    expect(buildIfStale({ root, compile })).toBe(false);
    writeFileSync(join(root, 'libs/core/src/a.spec.ts'), 'export const testOnly = 1;\n');
    expect(buildIfStale({ root, compile })).toBe(false);
    writeFileSync(join(root, 'apps/api/src/main.ts'), 'export const changed = 1;\n');
    expect(buildIfStale({ root, compile })).toBe(true);
    // The bundler is an input too: dist/apps/<app>/main.js is made by it.
    writeFileSync(join(root, 'scripts/bundle-apps.mjs'), '// changed\n');
    expect(buildIfStale({ root, compile })).toBe(true);
    expect(compile).toHaveBeenCalledTimes(4);
  });

  it('leaves dist stale after a failed build, even a forced one of a current dist', () => {
    const root = sourceTree();
    roots.push(root);
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    expect(buildIfStale({ root, compile: () => 0 })).toBe(true);
    const exit = vi.spyOn(process, 'exit').mockImplementation((code) => {
      throw new Error(`exit ${String(code)}`);
    });
    expect(() => buildIfStale({ root, compile: () => 2, force: true })).toThrow('exit 2');
    expect(exit).toHaveBeenCalledWith(2);
    expect(existsSync(join(root, 'dist/.build-inputs'))).toBe(false);
    expect(buildIfStale({ root, compile: () => 0 })).toBe(true);
  });
});

describe('package.json scripts', () => {
  const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
    .scripts;

  it('"build" builds through build-if-stale, forced, so that it records its inputs', () => {
    expect(scripts.build).toBe('node scripts/build-if-stale.mjs --force');
  });

  it.each([
    'seed',
    'admin:create',
    'migration:generate',
    'migration:run',
    'migration:revert',
    'migration:show',
    'pretest',
  ])('"%s" builds only when dist is stale (never a plain nest build beside a running stack)', (name) => {
    expect(scripts[name]).toMatch(/^node scripts\/build-if-stale\.mjs( &&|$)/);
    expect(scripts[name]).not.toMatch(/nest build|npm run build/);
  });
});
