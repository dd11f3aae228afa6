import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from './free-port';

describe('freePort', () => {
  it('gives distinct ports below the ephemeral range, each reserved for other test processes to see', async () => {
    const ports = await Promise.all(Array.from({ length: 50 }, () => freePort()));
    expect(new Set(ports).size).toBe(ports.length);
    for (const port of ports) {
      expect(port >= 20_000 && port < 32_000).toBe(true);
      expect(existsSync(join(tmpdir(), 'boxoffice-test-ports', String(port)))).toBe(true);
    }
  });
});
