import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { addAmqpConnectedGauge } from './amqp-metrics';

describe('boxoffice_rabbitmq_connected', () => {
  it('reads the connection at each scrape: 1 while connected, 0 while not, 1 again', async () => {
    let connected = true;
    const registry = new Registry();
    addAmqpConnectedGauge(registry, { isConnected: () => connected });
    const read = async () => (await registry.metrics()).match(/^boxoffice_rabbitmq_connected (\S+)$/m)?.[1];
    expect(await read()).toBe('1');
    connected = false;
    expect(await read()).toBe('0');
    connected = true;
    expect(await read()).toBe('1');
  });
});
