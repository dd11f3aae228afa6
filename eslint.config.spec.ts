import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// The import boundaries of eslint.config.mjs, checked by linting code as if it were at a path of
// the repository: each wrong import must fail `npm run lint`, each allowed one must pass.
const eslint = new ESLint({ cwd: __dirname });

async function restrictions(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

const WRONG: [string, string, RegExp][] = [
  ['libs/ticketing/src/x.ts', "import nodemailer from 'nodemailer';", /libs\/ticketing may not import this package/],
  ['libs/ticketing/src/x.ts', "import type { Channel } from 'amqplib';", /may not import this package/],
  [
    'libs/ticketing/src/x.ts',
    "import { FastifyAdapter } from '@nestjs/platform-fastify';",
    /may not import this package/,
  ],
  ['libs/ticketing/src/x.ts', "import type { FastifyRequest } from 'fastify';", /may not import this package/],
  [
    'libs/ticketing/src/x.ts',
    "import { BatchModule } from '../../../apps/batch/src/batch.module';",
    /may not import an app/,
  ],
  ['libs/ticketing/src/x.ts', "import { AuthModule } from '@app/auth';", /libs\/ticketing may import only/],
  ['libs/ticketing/src/x.ts', "import { createTestEnv } from '@app/testing';", /may import only/],
  ['libs/ticketing/src/x.ts', "import { AmqpConnection } from '@app/messaging';", /may import only/],
  ['libs/ticketing/src/x.ts', "import { Topology } from '@app/messaging/topology';", /may import only/],
  ['libs/auth/src/x.ts', "import { DomainError } from '@app/ticketing';", /libs\/auth may import only/],
  ['libs/auth/src/x.ts', "import { AmqpConnection } from '@app/messaging';", /libs\/auth may import only/],
  ['libs/auth/src/x.ts', "import { HoldService } from '../../ticketing/src/holds/hold.service';", /may import only/],
  ['libs/core/src/x.ts', "import { Env } from '@app/config';", /libs\/core imports no other library/],
  ['libs/core/src/x.ts', "import { DataSource } from 'typeorm';", /may not import this package/],
  ['libs/database/src/x.ts', "export { HoldService } from '@app/ticketing';", /libs\/database may import only/],
  [
    'libs/redis/src/x.ts',
    "import { PurchaseRepository } from '@app/database';",
    /libs\/redis may import only @app\/config, @app\/core /,
  ],
  ['libs/core/src/x.ts', "import { asStoreUnavailable } from '@app/redis';", /libs\/core imports no other library/],
  ['apps/mailer/src/x.ts', "import { BatchModule } from '../../batch/src/batch.module';", /may not import another app/],
  ['apps/api/src/x.ts', "import { createTestEnv } from '@app/testing';", /Only tests use @app\/testing/],
  ['apps/api/src/x.ts', "import { IsString, MaxLength } from 'class-validator';", /text-length\.ts/],
];

const ALLOWED: [string, string][] = [
  ['apps/api/src/x.ts', "import { IsString } from 'class-validator';"],
  ['libs/ticketing/src/x.ts', "import { DomainError } from '@app/core';"],
  ['libs/ticketing/src/x.ts', "import { PurchaseRepository } from '@app/database';"],
  ['libs/ticketing/src/x.ts', "import { purchaseCompletedMessageId } from '@app/messaging/contracts';"],
  ['libs/ticketing/src/x.int-spec.ts', "import { createTestEnv } from '@app/testing';"],
  ['libs/auth/src/x.ts', "import { DomainError } from '@app/core';"],
  ['libs/auth/src/x.ts', "import { passwordResetMessageId } from '@app/messaging/contracts';"],
  ['libs/redis/src/x.ts', "import { StoreUnavailableError } from '@app/core';"],
  ['libs/messaging/src/x.ts', "import amqp from 'amqp-connection-manager';"],
  ['apps/mailer/src/x.ts', "import nodemailer from 'nodemailer';"],
  ['apps/batch/src/x.ts', "import { HoldSweeper } from '@app/ticketing';"],
  ['apps/mailer/test/x.ts', "import { BatchModule } from '../../batch/src/batch.module';"],
];

describe('the import boundaries (eslint.config.mjs)', () => {
  it.each(WRONG)('%s: rejects %s', async (filePath, line, reason) => {
    const messages = await restrictions(filePath, `${line}\nexport {};\n`);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(reason);
  });

  it.each(ALLOWED)('%s: allows %s', async (filePath, line) => {
    expect(await restrictions(filePath, `${line}\nexport {};\n`)).toEqual([]);
  });
});
