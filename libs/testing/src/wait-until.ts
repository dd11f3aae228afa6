/** Polls `check` until it is true; fails with `what` after `timeoutMs`. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  what = 'condition',
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`${what}: not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Polls `read` until `done` accepts what it gave, and returns that value; fails with `what` and
 * the last value read after `timeoutMs`. `done` defaults to "not undefined", for a read that finds
 * something or nothing (a log line, a file).
 */
export async function waitForValue<T>(
  read: () => T | Promise<T>,
  what: string,
  {
    done = (value: T) => value !== undefined,
    timeoutMs = 30_000,
    intervalMs = 100,
  }: { done?: (value: T) => boolean; timeoutMs?: number; intervalMs?: number } = {},
): Promise<Exclude<T, undefined>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value as Exclude<T, undefined>;
    if (Date.now() > until)
      throw new Error(`${what}: not met within ${timeoutMs} ms; last value ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
