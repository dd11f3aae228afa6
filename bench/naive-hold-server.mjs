#!/usr/bin/env node
// The naive baseline of the hold benchmark: what boxoffice would be without Redis. Each hold
// locks its seat rows in PostgreSQL (`SELECT … FOR UPDATE`), checks them and marks them held, in
// one transaction. Same HTTP stack (Fastify), same JSON in and out, no auth.
// Usage: node bench/naive-hold-server.mjs <port> <database url> <seat count>
import Fastify from 'fastify';
import pg from 'pg';

const [port, databaseUrl, seatCount] = process.argv.slice(2);
const pool = new pg.Pool({ connectionString: databaseUrl, max: 20 });

await pool.query(`CREATE TABLE IF NOT EXISTS naive_seats (
  id int PRIMARY KEY, holder uuid, held_until timestamptz)`);
await pool.query('TRUNCATE naive_seats');
await pool.query('INSERT INTO naive_seats (id) SELECT generate_series(1, $1::int)', [Number(seatCount)]);

const app = Fastify();
app.post('/hold', async (request, reply) => {
  const { userId, seatIds } = request.body;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query(
      'SELECT id, held_until FROM naive_seats WHERE id = ANY($1::int[]) ORDER BY id FOR UPDATE',
      [seatIds],
    );
    const taken = rows.filter((r) => r.held_until && r.held_until > new Date());
    if (rows.length !== seatIds.length || taken.length > 0) {
      await client.query('ROLLBACK');
      return reply.code(409).send({ statusCode: 409, seatIds: taken.map((r) => r.id) });
    }
    await client.query(
      "UPDATE naive_seats SET holder = $1, held_until = now() + interval '5 minutes' WHERE id = ANY($2::int[])",
      [userId, seatIds],
    );
    await client.query('COMMIT');
    return reply.code(201).send({ seatIds, status: 'HELD' });
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
});
await app.listen({ port: Number(port), host: '127.0.0.1' });
console.log(`naive hold server on ${port}`);
process.on('SIGTERM', async () => {
  await app.close();
  await pool.end();
  process.exit(0);
});
