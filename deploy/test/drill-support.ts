import { AppProcess, TestEnv } from '@app/testing';

/**
 * What the two drills (fault-drill.ts, redis-failover.ts) share: the settings of their stack and
 * how they start its built processes.
 */

/**
 * Settings both drills run with: no signup limit (many buyers sign up from one address) and mail
 * retries short enough that a broker or SMTP hiccup is retried within the run.
 */
export const DRILL_SETTINGS = { SIGNUP_RATE_LIMIT: '0', MAIL_RETRY_BASE_MS: '200', MAIL_RETRY_MAX_MS: '2000' };

/** Paces the drill's load (think time, an outage's length); never a wait for a condition. */
export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A function that starts one built app (`dist/`) with `env` and `extra` settings, records it in
 * `processes` (for the cleanup) and resolves once it says it is ready (`api listening`, `<app>
 * started`), failing after `readyMs`.
 */
export function appStarter(env: TestEnv, processes: AppProcess[], readyMs: number) {
  return async (app: 'api' | 'batch' | 'mailer', extra: Record<string, string> = {}): Promise<AppProcess> => {
    const process = new AppProcess(app, { ...env, ...extra });
    processes.push(process);
    await process.waitForLine(app === 'api' ? 'api listening' : `${app} started`, readyMs);
    return process;
  };
}
