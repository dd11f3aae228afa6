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

/** The package a `require("…")` names (`@scope/name` or `name`). */
function packageOf(request: string): string {
  const parts = request.split('/');
  return request.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function requiredPackages(files: string[]): Set<string> {
  const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
  const required = new Set<string>();
  for (const file of files) {
    // Not one that starts a template literal: ajv-formats writes `require("ajv-formats/…")` into
    // the source of standalone validators, which the apps never generate.
    for (const match of readFileSync(file, 'utf8').matchAll(/(?<!`)require\("([^".][^"]*)"\)/g)) {
      if (!builtins.has(match[1])) required.add(packageOf(match[1]));
    }
  }
  return required;
}

/**
 * The bundles (scripts/bundle-apps.mjs): the files directly in dist/apps/<app> (main.js, the api's
 * commands and their chunks); the tree below them is the unbundled build.
 */
const BUNDLES = ['api', 'batch', 'mailer'].flatMap((app) => {
  const dir = join(ROOT, 'dist', 'apps', app);
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((name) => name.endsWith('.js'))
        .map((name) => join(dir, name))
    : [];
});

describe('the runtime image', () => {
  it('needs only production dependencies: every package the built apps require is in "dependencies"', () => {
    const dist = join(ROOT, 'dist', 'apps');
    if (!existsSync(dist)) throw new Error(`${dist} is missing: run "npm run build" first (npm test does)`);
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const required = requiredPackages(jsFiles(dist).filter((file) => !BUNDLES.includes(file)));
    const missing = [...required].filter((name) => !(name in manifest.dependencies));
    expect(missing).toEqual([]);
    expect(required.size).toBeGreaterThan(10);
  });

  it('runs the bundles on production dependencies: a package a bundle still requires is in "dependencies" or installed nowhere', () => {
    for (const app of ['api', 'batch', 'mailer']) {
      const bundle = join(ROOT, 'dist', 'apps', app, 'main.js');
      if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run "npm run build" first (npm test does)`);
    }
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    // What a bundle still requires: the native addons left out on purpose, and the optional
    // packages the bundler found nowhere (TypeORM's other drivers), which throw when reached, as
    // they would unbundled. One that is installed but only as a development dependency would be
    // missing from the image (`npm prune --omit=dev`).
    const installedOnlyForDevelopment = [...requiredPackages(BUNDLES)].filter((name) => {
      if (name in manifest.dependencies) return false;
      try {
        require.resolve(`${name}/package.json`, { paths: [ROOT] });
        return true;
      } catch {
        return false;
      }
    });
    expect(installedOnlyForDevelopment).toEqual([]);
    expect(requiredPackages(BUNDLES)).toContain('@node-rs/argon2');
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
