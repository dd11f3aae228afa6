import net from 'node:net';
import { templateDatabase } from './template-database';

const SERVICES = [
  { name: 'PostgreSQL', port: 5432 },
  { name: 'Redis', port: 6379 },
  { name: 'RabbitMQ', port: 5672 },
];

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, timeout: 2000 });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

/**
 * Fails the run at once, with a clear message, when a service the tests need is down; then
 * migrates the template database once for the whole run (test files clone it, see test-env.ts).
 */
export default async function setup(): Promise<void> {
  const down: string[] = [];
  for (const service of SERVICES) {
    if (!(await reachable(service.port))) down.push(`${service.name} (127.0.0.1:${service.port})`);
  }
  if (down.length > 0) {
    throw new Error(`Integration tests need these services running: ${down.join(', ')}. See README "Services".`);
  }
  await templateDatabase();
}
