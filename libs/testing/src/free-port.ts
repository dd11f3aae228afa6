import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Test servers (api processes, Redis, Nginx, SMTP, proxies) listen on ports from this range:
 * below the kernel's ephemeral range (32768-60999 on Linux), so an outgoing connection can never
 * take the port between the check and the bind, as it can with `listen(0)`.
 */
const FIRST_PORT = 20_000;
const PORT_COUNT = 12_000;
/** Every process of every test run on this machine reserves its ports here, one file each. */
const RESERVATIONS = join(tmpdir(), 'boxoffice-test-ports');
/** A reservation older than this belongs to a run that ended (tests bind their ports at once). */
const RESERVATION_MS = 15 * 60_000;

let next = Math.floor(Math.random() * PORT_COUNT);

/**
 * A TCP port from 20000-31999 that nobody listens on, on any address, and that no other test
 * process (of this run or another) was given in the last 15 minutes: each port is reserved by
 * creating a file exclusively, so two test files running at once never get the same one.
 * Rejects when the whole range is taken.
 */
export async function freePort(): Promise<number> {
  mkdirSync(RESERVATIONS, { recursive: true });
  for (let tried = 0; tried < PORT_COUNT; tried++) {
    const port = FIRST_PORT + (next++ % PORT_COUNT);
    if (reserve(port) && (await canListen(port))) return port;
  }
  throw new Error(`no free port in ${FIRST_PORT}-${FIRST_PORT + PORT_COUNT - 1}`);
}

function reserve(port: number): boolean {
  const file = join(RESERVATIONS, String(port));
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
    return true;
  } catch {
    const reserved = statSync(file, { throwIfNoEntry: false });
    if (reserved && Date.now() - reserved.mtimeMs < RESERVATION_MS) return false;
    rmSync(file, { force: true });
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return true;
    } catch {
      return false;
    }
  }
}

/** Binding the wildcard address fails if anything listens on the port on any address. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '0.0.0.0', exclusive: true }, () => server.close(() => resolve(true)));
  });
}
