import { describe, expect, it } from 'vitest';
import { ConfigError } from '@app/config';
import { migrateFailureText, MigrateUsageError, parseMigrateArgs } from './migrate-args';
import { ConcurrentIndexInTransactionError } from './migrations/concurrent-index';

describe('parseMigrateArgs (migrate.js)', () => {
  it('runs the pending migrations with no arguments, or run', () => {
    expect(parseMigrateArgs([])).toEqual({ command: 'run' });
    expect(parseMigrateArgs(['run'])).toEqual({ command: 'run' });
  });

  it('reverts in a transaction by default, outside one with --transaction none (as npm appends it)', () => {
    expect(parseMigrateArgs(['revert'])).toEqual({ command: 'revert', transaction: 'each' });
    expect(parseMigrateArgs(['revert', '--transaction', 'none'])).toEqual({ command: 'revert', transaction: 'none' });
    expect(parseMigrateArgs(['revert', '--transaction=none'])).toEqual({ command: 'revert', transaction: 'none' });
    expect(parseMigrateArgs(['revert', '-t', 'all'])).toEqual({ command: 'revert', transaction: 'all' });
  });

  it.each([
    [['undo'], /unknown command "undo"/],
    [['run', '--transaction', 'none'], /run takes no options/],
    [['revert', '--transaction'], /--transaction must be each, all or none \(got ""\)/],
    [['revert', '--transaction', 'never'], /--transaction must be each, all or none \(got "never"\)/],
    [['revert', '--fake'], /unknown option "--fake"/],
  ])('refuses %j, saying what it takes', (args, message) => {
    expect(() => parseMigrateArgs(args)).toThrow(MigrateUsageError);
    expect(() => parseMigrateArgs(args)).toThrow(message);
    expect(() => parseMigrateArgs(args)).toThrow(
      /Usage: migrate\.js .*migrate\.js revert \[--transaction each\|all\|none\]/,
    );
  });
});

describe('migrateFailureText', () => {
  it('is the message alone for a failure that says what to do, a revert needing --transaction none included', () => {
    for (const error of [
      new ConcurrentIndexInTransactionError('revert it with --transaction none'),
      new MigrateUsageError('bad'),
      new ConfigError(['DATABASE_URL must be a postgres:// URL']),
    ])
      expect(migrateFailureText(error)).toBe(error.message);
  });

  it('is the error itself, stack and all, for anything else', () => {
    const error = new Error('relation "x" does not exist');
    expect(migrateFailureText(error)).toBe(error);
  });
});
