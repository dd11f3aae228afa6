/** See config.mjs. */
import type * as Config from '../libs/config/src';

export function appConfig(): typeof Config;

export function readConfig(
  overrides?: Config.EnvSource,
  config?: typeof Config,
): { env: Readonly<Config.Env>; mailCatcher: Config.MailCatcher };

export function childEnv(extra?: Config.EnvSource): NodeJS.ProcessEnv;
