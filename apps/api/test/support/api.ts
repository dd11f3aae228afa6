import { Role } from '@app/auth';
import { EnvSource } from '@app/config';
import { ApiHarness, createSession, startApi, TestSession } from '@app/testing';
import { ApiModule } from '../../src/api.module';
import { createApiApp } from '../../src/bootstrap';

/** The API as `main.ts` builds it, on a fresh test database (`startApi`), with env `overrides`. */
export function startTestApi(overrides: EnvSource = {}): Promise<ApiHarness> {
  return startApi(({ overrides: env, logger }) => createApiApp(ApiModule, { overrides: env, logger }), overrides);
}

/** {@link startTestApi} with an admin and a user signed in. */
export async function startApiWithSessions(
  overrides: EnvSource = {},
): Promise<{ api: ApiHarness; admin: TestSession; user: TestSession }> {
  const api = await startTestApi(overrides);
  const admin = await createSession(api.app, { role: Role.Admin });
  const user = await createSession(api.app);
  return { api, admin, user };
}
