// Bundles each built app (dist/apps/<app>/apps/<app>/src/main.js, from `nest build`) with the
// packages it imports into one file, dist/apps/<app>/main.js, the file every start runs. Why: a
// start of the unbundled api resolves, reads and compiles ~1,800 modules (NestJS 12 is ES modules,
// which Node 20 compiles without any cache), ~1/3 of its CPU to `api listening`; one file is read
// and compiled once (docs/testing.md, "Suite speed: one file per app"). The unbundled tree stays
// beside it for the commands (seed, admin:create, migration:*).
import { basename, dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { rolldown } from 'rolldown';

/**
 * Packages left to `require` at run time: native addons (argon2; pg's optional pg-native) cannot
 * be bundled. Nothing else is external, so that each package exists once in a process (Nest,
 * TypeORM and class-validator keep state in module scope and compare classes by identity).
 */
const EXTERNAL = [/^@node-rs\/argon2/, /^pg-native$/];

/**
 * The same directory, seen from the bundle: `__dirname` in a bundled module is the bundle's own
 * folder, so each module's `__dirname` becomes its original folder again, relative to the bundle
 * (the `.lua` scripts beside the libraries, swagger-ui-dist's assets, ioredis' package.json).
 * `node_modules` sits three levels above dist/apps/<app> wherever the tree is (a worktree's may be
 * a link to another checkout's).
 */
function originalDir(appRoot, id) {
  const dir = dirname(id);
  const inPackages = dir.lastIndexOf(`${sep}node_modules${sep}`);
  if (inPackages >= 0) return join('..', '..', '..', dir.slice(inPackages + 1));
  return relative(appRoot, dir);
}

/** Rewrites of module sources that a bundle needs; each says why. */
function rewrites(appRoot) {
  return {
    name: 'boxoffice-bundle-rewrites',
    transform(code, id) {
      let out = code;
      // `const require = createRequire(import.meta.url); require('pkg')` (Nest's optional
      // peers: @nestjs/typeorm's typeorm, terminus' swagger, swagger's class-validator) is not
      // seen by rolldown and would load a second copy of the package from node_modules; a plain
      // `require('pkg')` is bundled as the one copy.
      out = out.replace(/^const require = createRequire\(import\.meta\.url\);$/m, '');
      // Terminus checks its peers with import.meta.resolve and loads them with import(name): the
      // TypeORM health indicator's peers, taken from the bundle.
      if (id.includes(`@nestjs${sep}terminus${sep}dist${sep}utils${sep}checkPackage.util.js`)) {
        out = out
          .replace('import.meta.resolve(packageName)', 'require.resolve(packageName)')
          .replace(
            'await import(packageName)',
            "await ({ '@nestjs/typeorm': () => import('@nestjs/typeorm'), typeorm: () => import('typeorm') }[packageName] ?? (() => import(packageName)))()",
          );
      }
      // `import.meta.url` names the module's original file too, as `__dirname` its folder below:
      // pdfkit loads its built-in fonts' metrics with `createRequire(import.meta.url)` and its own
      // package's subpath imports (`#standard-fonts/Helvetica`), which only its package.json
      // resolves, not the bundle's (a ticket PDF would fail "Cannot find module"). Written with
      // `__dirname`, which the rewrite below makes the original folder.
      if (out.includes('import.meta.url')) {
        const file = JSON.stringify(basename(id));
        out = out.replace(
          /\bimport\.meta\.url\b/g,
          `require("node:url").pathToFileURL(require("node:path").join(__dirname, ${file})).href`,
        );
      }
      if (/\b__dirname\b/.test(out)) {
        // A declaration of its own: a mention inside a string stays a (changed) string.
        const declaration = `const __moduleDirname = require("node:path").join(__dirname, ${JSON.stringify(originalDir(appRoot, id))});\n`;
        const body = out.replace(/\b__dirname\b/g, '__moduleDirname');
        // After a shebang and a "use strict" directive, which must stay first to mean anything.
        const head = /^(#!.*\n)?(\s*(["'])use strict\3;?[^\S\n]*\n)?/.exec(body)?.[0] ?? '';
        out = head + declaration + body.slice(head.length);
      }
      return out === code ? null : { code: out, map: null };
    },
  };
}

/**
 * Bundles `inputs` ({ name: file }) of one app into dist/apps/<app>/<name>.js, every output file
 * (and its source map) directly in dist/apps/<app>, where the rewritten `__dirname`s start from.
 */
async function bundle(root, app, inputs, output) {
  const appRoot = join(root, 'dist', 'apps', app);
  const build = await rolldown({
    input: inputs,
    platform: 'node',
    external: EXTERNAL,
    plugins: [rewrites(appRoot)],
    // Unresolvable optional requires (TypeORM's other drivers, Nest's microservices) stay
    // `require` calls that throw only if ever reached, as they would unbundled.
    onLog(level, log, handler) {
      if (log.code === 'UNRESOLVED_IMPORT' || log.code === 'EVAL' || log.code === 'CIRCULAR_DEPENDENCY') return;
      handler(level, log);
    },
  });
  try {
    await build.write({
      dir: appRoot,
      format: 'cjs',
      sourcemap: true,
      // Class and function names as written: Nest names loggers, tokens and errors after them.
      keepNames: true,
      ...output,
    });
  } finally {
    await build.close();
  }
}

/**
 * Bundles one app into dist/apps/<app>/main.js; for the api also its commands, `admin-create.js`
 * and `seed.js`, whose late imports (admin-create reads its command line before it imports
 * TypeORM, Nest and the libraries) stay late: they go into `cli-*.js` chunks loaded when reached.
 */
export async function bundleApp(root, app) {
  const src = join(root, 'dist', 'apps', app, 'apps', app, 'src');
  await bundle(root, app, { main: join(src, 'main.js') }, { codeSplitting: false });
  if (app === 'api') {
    await bundle(
      root,
      app,
      { 'admin-create': join(src, 'cli', 'admin-create.js'), seed: join(src, 'cli', 'seed.js') },
      { chunkFileNames: 'cli-[name]-[hash].js' },
    );
  }
}

// `node scripts/bundle-apps.mjs api batch mailer` (scripts/build-if-stale.mjs runs it after `nest build`).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  for (const app of process.argv.slice(2)) await bundleApp(root, app);
}
