import { afterAll } from 'vitest';
import { killRunningAppProcesses } from './processes';

// Registered before the file's own hooks, so it runs after them (vitest runs `afterAll` hooks in
// reverse order): a file stops its processes its own way first, and whatever it left running (a
// start that failed, a test that timed out before its cleanup) is killed here, before the worker
// moves on to its next file.
afterAll(async () => {
  await killRunningAppProcesses();
});
