import { resolve } from 'node:path';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

const libs = ['core', 'config', 'database', 'redis', 'messaging', 'logging', 'ticketing', 'testing', 'auth'];
const alias = Object.fromEntries(libs.map((lib) => [`@app/${lib}`, resolve(import.meta.dirname, `libs/${lib}/src`)]));

// SWC keeps decorator metadata, which Nest's dependency injection needs.
const plugins = [swc.vite({ module: { type: 'es6' }, jsc: { target: 'es2022' } })];

export default defineConfig({
  plugins,
  resolve: { alias },
  test: {
    projects: [
      {
        plugins,
        resolve: { alias },
        test: {
          name: 'unit',
          include: ['{apps,libs,loadtest,deploy}/**/*.spec.ts', 'eslint.config.spec.ts'],
          environment: 'node',
        },
      },
      {
        plugins,
        resolve: { alias },
        test: {
          name: 'int',
          include: ['{apps,libs,loadtest,deploy}/**/*.int-spec.ts', '{apps,libs,loadtest,deploy}/**/*.e2e-spec.ts'],
          environment: 'node',
          pool: 'forks',
          testTimeout: 60_000,
          hookTimeout: 120_000,
          globalSetup: ['libs/testing/src/global-setup.ts', 'libs/testing/src/redis-cluster.global-setup.ts'],
          setupFiles: ['libs/testing/src/lua-key-check.setup.ts'],
        },
      },
      {
        // `npm run drill` only (the full-scale fault drill): `npm test` runs the projects above,
        // the drill's short variant among them (see package.json).
        plugins,
        resolve: { alias },
        test: {
          name: 'drill',
          include: ['deploy/test/*.drill-spec.ts'],
          environment: 'node',
          pool: 'forks',
          hookTimeout: 120_000,
          globalSetup: ['libs/testing/src/global-setup.ts'],
        },
      },
    ],
  },
});
