import net from 'node:net';

/**
 * Test servers (api processes, Redis, Nginx, SMTP) listen on ports from this range: below the
 * kernel's ephemeral range (32768-60999 on Linux), so an outgoing connection can never have taken
 * the port between the check and the bind, as it can with `listen(0)`.
 */
const FIRST_PORT = 20_000;
const PORTS_PER_WORKER = 1_000;
const WORKER_SLOTS = 12;

// Each Vitest worker (and each other process) walks its own slice of the range, so two test
// files running at once never get the same port; the bind check covers anything else.
const worker = Number(process.env.VITEST_POOL_ID ?? process.pid) % WORKER_SLOTS;
let next = 0;

/**
 * A TCP port nobody listens on right now, on any address, from this process's slice of
 * 20000-31999. Rejects when the whole slice is taken.
 */
export async function freePort(): Promise<number> {
  for (let tried = 0; tried < PORTS_PER_WORKER; tried++) {
    const port = FIRST_PORT + worker * PORTS_PER_WORKER + (next++ % PORTS_PER_WORKER);
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port in ${FIRST_PORT + worker * PORTS_PER_WORKER}+${PORTS_PER_WORKER}`);
}

/** Binding the wildcard address fails if anything listens on the port on any address. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '0.0.0.0', exclusive: true }, () => server.close(() => resolve(true)));
  });
}
