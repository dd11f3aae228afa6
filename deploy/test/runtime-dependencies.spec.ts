import { execFileSync } from 'node:child_process';
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

describe('the built rules library', () => {
  it('loads no transport: requiring libs/ticketing loads neither nodemailer, AMQP nor a web server', () => {
    const index = join(ROOT, 'dist', 'apps', 'api', 'libs', 'ticketing', 'src', 'index.js');
    if (!existsSync(index)) throw new Error(`${index} is missing: run "npm run build" first (npm test does)`);
    const script = `require('reflect-metadata'); require(${JSON.stringify(index)});
      console.log(JSON.stringify(Object.keys(require.cache)))`;
    const lines = execFileSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n');
    const files = JSON.parse(lines[lines.length - 1]) as string[];
    const packages = new Set(files.map((file) => /node_modules\/((@[^/]+\/)?[^/]+)/.exec(file)?.[1]).filter(Boolean));
    const transports = [...packages].filter(
      (name) =>
        ['nodemailer', 'amqplib', 'amqp-connection-manager', 'fastify'].includes(name!) ||
        /^@nestjs\/platform-|^@fastify\//.test(name!),
    );
    expect(transports).toEqual([]);
    // It sees what the rules do load, so an empty list above means something.
    expect(packages).toContain('ioredis');
  });
});
