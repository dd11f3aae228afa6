import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv as parseEnvFile } from 'node:util';
import { describe, expect, it } from 'vitest';
import { nearestKey, unknownEnvFileKeyWarnings } from './env-file-keys';
import { ENV_KEYS } from './env';

const ROOT = join(__dirname, '..', '..', '..');

describe('unknownEnvFileKeyWarnings: keys of a .env file that nothing reads', () => {
  it('names a typo and the key it was meant to be', () => {
    expect(unknownEnvFileKeyWarnings(['REDIS_ULR', 'PORT'])).toEqual([
      '.env sets REDIS_ULR, which no setting reads (ignored); did you mean REDIS_URL?',
    ]);
    expect(unknownEnvFileKeyWarnings(['DATABSE_POOL_SIZE', 'MAIL_FORM', 'log_level'])).toEqual([
      '.env sets DATABSE_POOL_SIZE, which no setting reads (ignored); did you mean DATABASE_POOL_SIZE?',
      '.env sets MAIL_FORM, which no setting reads (ignored); did you mean MAIL_FROM?',
      '.env sets log_level, which no setting reads (ignored); did you mean LOG_LEVEL?',
    ]);
  });

  it('names no key when none is close', () => {
    expect(unknownEnvFileKeyWarnings(['MY_OWN_SCRIPT_SETTING'])).toEqual([
      '.env sets MY_OWN_SCRIPT_SETTING, which no setting reads (ignored); see .env.example for the settings',
    ]);
    expect(nearestKey('XYZ', ENV_KEYS)).toBeUndefined();
  });

  it("says nothing of the settings, nor of Compose's keys (those of .env.example, any COMPOSE_…)", () => {
    expect(unknownEnvFileKeyWarnings([...ENV_KEYS])).toEqual([]);
    expect(
      unknownEnvFileKeyWarnings(['POSTGRES_USER', 'RABBITMQ_PASSWORD', 'HTTP_PORT', 'COMPOSE_PROJECT_NAME']),
    ).toEqual([]);
    // Every key .env.example sets or shows commented out, as `cp .env.example .env` gives it.
    const example = readFileSync(join(ROOT, '.env.example'), 'utf8');
    const keys = Object.keys(parseEnvFile(example.replace(/^# ?([A-Z][A-Z0-9_]*=)/gm, '$1')));
    expect(keys).toContain('POSTGRES_MAX_CONNECTIONS');
    expect(unknownEnvFileKeyWarnings(keys)).toEqual([]);
  });

  it('knows every ${…} docker-compose.yml reads from .env', () => {
    const compose = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    const keys = [...new Set([...compose.matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((match) => match[1]))];
    expect(keys).toContain('POSTGRES_PASSWORD');
    expect(unknownEnvFileKeyWarnings(keys)).toEqual([]);
  });
});
