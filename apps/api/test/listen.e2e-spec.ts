import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@app/config';
import { freePort } from '@app/testing';
import { listen } from '../src/bootstrap';
import { startTestApi } from './support/api';

describe('listening on PORT (real PostgreSQL, Redis and RabbitMQ)', () => {
  it('ends with a ConfigError naming PORT when another process holds the port', async () => {
    const port = await freePort();
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    const api = await startTestApi({ PORT: String(port), HOST: '127.0.0.1' });
    try {
      const refused = listen(api.app);
      await expect(refused).rejects.toBeInstanceOf(ConfigError);
      await expect(refused).rejects.toThrow(`PORT ${port} is in use on 127.0.0.1 by another process`);
    } finally {
      await api.close();
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});
