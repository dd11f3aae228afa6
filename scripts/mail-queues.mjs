#!/usr/bin/env node
// Operator's tool for the two mail queues (docs/guide/e-mail.md, steps 6 and 11), on the broker at
// RABBITMQ_URL, for the deployment's RABBITMQ_NAMESPACE or the namespace given (the configuration
// as the apps read it, through scripts/config.mjs: needs a build):
//
//   node scripts/mail-queues.mjs replay <queue> [--namespace ns]
//     Moves every message of <queue> (a dead-letter queue: `<ns>.purchase-completed.dead`,
//     `<ns>.mail-bulk.dead`) back to `<ns>.events` with the routing key it was first published
//     with (its `x-original-routing-key` header, else the first of its `x-death` routing keys), its
//     tries reset (`x-attempts`, `x-last-error` dropped). A message with neither is left in place.
//
//   node scripts/mail-queues.mjs rollback [--namespace ns]
//     After a downgrade to a version without the bulk mail queue (its processes running): binds the
//     bulk routing keys to `<ns>.purchase-completed`, then unbinds them from `<ns>.mail-bulk` (so
//     a notice relayed meanwhile always finds a queue), moves the bulk retry queues (their waits
//     from MAIL_MAX_ATTEMPTS, MAIL_RETRY_BASE_MS, MAIL_RETRY_MAX_MS, as the mailer's) and then
//     `<ns>.mail-bulk` into `<ns>.purchase-completed`, `<ns>.mail-bulk.dead` into
//     `<ns>.purchase-completed.dead`, and deletes the bulk queues (each once empty). Run it again if
//     it stops half-way: each step can be repeated.
//
// Each message is moved with its body and properties, published with a broker confirm before the
// original is acknowledged: a crash in between leaves a copy in both places, never none, and the
// mailer sends nothing twice (email_deliveries). Prints what it moved as JSON.
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import amqp from 'amqplib';
import { readConfig } from './config.mjs';

const { env } = readConfig();
/** libs/messaging from the built api: the bulk routing keys and the mailer's retry policy. */
const { BULK_MAIL_ROUTING, RetryPolicy } = createRequire(import.meta.url)(
  '../dist/apps/api/libs/messaging/src/index.js',
);
/** Headers of a parked message that a replay drops, so it gets every try again. */
const TRY_HEADERS = ['x-attempts', 'x-last-error'];
/** Headers the broker sets itself: never copied. */
const BROKER_HEADERS = ['x-death', 'x-first-death-', 'x-last-death-', 'x-delivery-count'];

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { namespace: { type: 'string', default: env.RABBITMQ_NAMESPACE } },
});
const [command, queue] = positionals;
const ns = values.namespace;
const url = env.RABBITMQ_URL;

if (!['replay', 'rollback'].includes(command) || (command === 'replay' && !queue)) {
  console.error('usage: mail-queues.mjs replay <queue> [--namespace ns] | rollback [--namespace ns]');
  process.exit(2);
}

const connection = await amqp.connect(url);
try {
  const channel = await connection.createConfirmChannel();
  if (command === 'replay') {
    console.log(JSON.stringify(await replay(channel, queue)));
  } else {
    console.log(JSON.stringify(await rollback(channel)));
  }
} finally {
  await connection.close();
}

/** Moves every message of `from` to `<ns>.events` under its original routing key. */
async function replay(channel, from) {
  let moved = 0;
  // Messages of no known key stay unacknowledged until the end, so `get` does not hand them again.
  const left = [];
  for (;;) {
    const message = await channel.get(from, { noAck: false });
    if (message === false) break;
    const key = originalRoutingKey(message);
    if (key === undefined) {
      left.push(message);
      continue;
    }
    await publishRouted(channel, message, `${ns}.events`, key, copiedProperties(message, TRY_HEADERS));
    moved += 1;
  }
  for (const message of left) channel.nack(message, false, true);
  return { queue: from, moved, left: left.length };
}

/** Undoes the bulk mail queue after a downgrade (see the header). */
async function rollback(channel) {
  const urgent = `${ns}.purchase-completed`;
  const bulk = `${ns}.mail-bulk`;
  const events = `${ns}.events`;
  for (const key of BULK_MAIL_ROUTING) await channel.bindQueue(urgent, events, key);
  if (!(await exists(bulk))) return { moved: {}, deleted: [] };
  for (const key of BULK_MAIL_ROUTING) await channel.unbindQueue(bulk, events, key);
  // Nothing enters the retry queues once no mailer of the bulk version runs, and nothing enters
  // the bulk queue once they and its bindings are gone: empty them first, then it.
  const retryQueues = [];
  for (const delayMs of retryDelaysMs()) {
    if (await exists(`${bulk}.retry.${delayMs}ms`)) retryQueues.push(`${bulk}.retry.${delayMs}ms`);
  }
  const moved = {};
  for (const q of retryQueues) moved[q] = await moveAll(channel, q, urgent);
  moved[bulk] = await moveAll(channel, bulk, urgent);
  if (await exists(`${bulk}.dead`)) moved[`${bulk}.dead`] = await moveAll(channel, `${bulk}.dead`, `${urgent}.dead`);
  const deleted = [];
  for (const q of [...retryQueues, `${bulk}.dead`, bulk]) {
    // Quorum queues take no `ifEmpty`: counted here, and nothing enters them any more.
    if (!(await exists(q))) continue;
    const { messageCount } = await channel.checkQueue(q);
    if (messageCount > 0) throw new Error(`${q} still holds ${messageCount} messages; not deleted (run again)`);
    await channel.deleteQueue(q);
    deleted.push(q);
  }
  return { moved, deleted };
}

/** The waits of the mailer's retry policy (`RetryPolicy.delaysMs`, from MAIL_MAX_ATTEMPTS, MAIL_RETRY_BASE_MS, MAIL_RETRY_MAX_MS): one bulk retry queue each. */
function retryDelaysMs() {
  return [...new Set(new RetryPolicy(env.MAIL_MAX_ATTEMPTS, env.MAIL_RETRY_BASE_MS, env.MAIL_RETRY_MAX_MS).delaysMs)];
}

/** Moves every message of `from` to the queue `to` (default exchange), as it is. */
async function moveAll(channel, from, to) {
  let moved = 0;
  for (;;) {
    const message = await channel.get(from, { noAck: false });
    if (message === false) return moved;
    await publishRouted(channel, message, '', to, copiedProperties(message, []));
    moved += 1;
  }
}

/**
 * Publishes `message`'s copy (mandatory) and, once the broker confirmed it into a queue, acks the
 * original; a copy no queue took (the broker returns it before the confirm) hands the original
 * back and stops the run.
 */
async function publishRouted(channel, message, exchange, routingKey, properties) {
  let returned = false;
  const onReturn = () => (returned = true);
  channel.once('return', onReturn);
  channel.publish(exchange, routingKey, message.content, { ...properties, mandatory: true });
  await channel.waitForConfirms();
  channel.off('return', onReturn);
  if (returned) {
    channel.nack(message, false, true);
    throw new Error(`no queue takes ${routingKey} on ${exchange || 'the default exchange'}; message left in place`);
  }
  channel.ack(message);
}

async function exists(name) {
  const probe = await connection.createChannel();
  probe.on('error', () => undefined);
  try {
    await probe.checkQueue(name);
    await probe.close();
    return true;
  } catch {
    return false;
  }
}

function originalRoutingKey(message) {
  const headers = message.properties.headers ?? {};
  if (typeof headers['x-original-routing-key'] === 'string') return headers['x-original-routing-key'];
  const death = Array.isArray(headers['x-death']) ? headers['x-death'].at(-1) : undefined;
  const keys = death?.['routing-keys'];
  return Array.isArray(keys) && typeof keys[0] === 'string' ? keys[0] : undefined;
}

function copiedProperties(message, dropped) {
  const headers = Object.fromEntries(
    Object.entries(message.properties.headers ?? {}).filter(
      ([name]) => !dropped.includes(name) && !BROKER_HEADERS.some((b) => name.startsWith(b)),
    ),
  );
  return {
    persistent: true,
    contentType: message.properties.contentType,
    messageId: message.properties.messageId,
    headers,
  };
}
