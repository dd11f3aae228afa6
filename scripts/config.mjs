// The configuration of the scripts that run the apps (`npm start`, `npm run start:cluster`, the
// load test): libs/config as the apps run it, from the build (`.env`, the environment, the defaults
// and the rules), never a copy of a default or a rule; and the environment handed on to the
// processes they start.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BUILT = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist/apps/api/libs/config/src/index.js');

/**
 * libs/config from the built api (`loadEnv`, `mailCatcher`, `redisClusterNodes`, …): the
 * configuration as the apps read it. Needs a build (`npm run build`, or scripts/build-if-stale.mjs).
 * @returns {typeof import('../libs/config/src')}
 */
export function appConfig() {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run "npm run build" first`);
  return createRequire(import.meta.url)(BUILT);
}

/**
 * The configuration as the apps read it, `overrides` over it: `env` (libs/config's `loadEnv`) and
 * the local stack's mail catcher (`mailCatcher`). A bad value ends the script before it starts
 * anything, as it ends an app: libs/config's message (every bad variable and the rules it breaks)
 * on stderr, exit code 1. `config` is libs/config itself: the build's, or its sources in a test.
 * @param {Record<string, string | undefined>} [overrides]
 * @param {typeof import('../libs/config/src')} [config]
 */
export function readConfig(overrides = {}, config = appConfig()) {
  try {
    return { env: config.loadEnv(overrides), mailCatcher: config.mailCatcher(overrides) };
  } catch (error) {
    if (!(error instanceof config.ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}

/**
 * The script's own environment with `extra` over it, for a process it starts: handed on whole (the
 * apps read it through libs/config themselves), not read here.
 * @param {Record<string, string | undefined>} [extra]
 */
export function childEnv(extra = {}) {
  // eslint-disable-next-line no-restricted-properties -- passed on to a child process, not read
  return { ...process.env, ...extra };
}
