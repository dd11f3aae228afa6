// The yardstick of `npm run bench`: a plain Fastify route from the project's own node_modules,
// in its own process, answering what a liveness route answers. Every figure of the bench is a
// ratio to this route measured in the same run. Usage: node bench/plain-fastify.mjs <port>
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/hello', async () => ({ status: 'ok' }));
await app.listen({ port: Number(process.argv[2]), host: '127.0.0.1' });
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
