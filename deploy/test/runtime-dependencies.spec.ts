import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? jsFiles(join(dir, entry.name)) : entry.name.endsWith('.js') ? [join(dir, entry.name)] : [],
  );
}

describe('the runtime image', () => {
  it('needs only production dependencies: every package the built apps require is in "dependencies"', () => {
    const dist = join(ROOT, 'dist', 'apps');
    if (!existsSync(dist)) throw new Error(`${dist} is missing: run "npm run build" first (npm test does)`);
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const required = new Set<string>();
    for (const file of jsFiles(dist)) {
      for (const match of readFileSync(file, 'utf8').matchAll(/require\("([^".][^"]*)"\)/g)) {
        const parts = match[1].split('/');
        required.add(match[1].startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]);
      }
    }
    const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
    const missing = [...required].filter((name) => !builtins.has(name) && !(name in manifest.dependencies));
    expect(missing).toEqual([]);
    expect(required.size).toBeGreaterThan(10);
  });
});
