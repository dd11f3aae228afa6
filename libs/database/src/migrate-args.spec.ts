import { describe, expect, it } from 'vitest';
import { MigrateUsageError, parseMigrateArgs } from './migrate-args';

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
