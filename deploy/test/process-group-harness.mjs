// The test's stand-in for `npm start` (deploy/test/local-stack.e2e-spec.ts): scripts/local-stack.mjs's
// ProcessGroup running two fake apps (`batch`, `mailer`) and a fake mail catcher (`mail`, last), as
// scripts/start-local.mjs runs the real ones. Roles, by the first argument:
//   group <port>        the ProcessGroup; the catcher listens on <port>
//   group-failing <port>  the same with a third app, `api`, that exits 1 at once (cannot start)
//   catcher <port>      says "pid N", then "received <text>" for each delivery; stops on SIGINT/SIGTERM
//   app <name> <port>   says "pid N"; on SIGINT/SIGTERM (once) delivers "<name> done" to the catcher
//                       after 300 ms, as a mailer finishes the notices in hand, then exits 0
//                       ("delivered"), or 1 when the catcher is gone ("undelivered: <code>")
import net from 'node:net';
import { clearInterval, setInterval } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { ProcessGroup } from '../../scripts/local-stack.mjs';

const [role, ...rest] = process.argv.slice(2);
const self = fileURLToPath(import.meta.url);

if (role === 'group' || role === 'group-failing') {
  const [port] = rest;
  const group = new ProcessGroup();
  group.run('mail', process.execPath, [self, 'catcher', port], process.env, { last: true });
  for (const app of ['batch', 'mailer']) group.run(app, process.execPath, [self, 'app', app, port]);
  if (role === 'group-failing') group.run('api', process.execPath, ['-e', 'process.exit(1)']);
} else if (role === 'catcher') {
  const server = net.createServer((socket) => {
    let text = '';
    socket.on('data', (chunk) => (text += chunk));
    socket.on('end', () => (console.log(`received ${text}`), socket.end()));
  });
  server.listen(Number(rest[0]), '127.0.0.1', () => console.log(`pid ${process.pid}`));
  const stop = () => server.close(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} else if (role === 'app') {
  const [name, port] = rest;
  const alive = setInterval(() => undefined, 60_000);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => {
      const socket = net.connect({ host: '127.0.0.1', port: Number(port) }, () => socket.end(`${name} done`));
      socket.on('close', (hadError) => {
        if (!hadError) console.log('delivered');
        clearInterval(alive);
        process.exitCode = hadError ? 1 : 0;
      });
      socket.on('error', (error) => console.log(`undelivered: ${error.code}`));
    }, 300);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // Once it listens for the signals: a test that read this line may send one.
  console.log(`pid ${process.pid}`);
}
