import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLuaScript } from './lua-script';

/** Writes `files` (path relative to a fresh folder → text) and returns the folder. */
function scriptFolder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'bo-lua-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe('loadLuaScript', () => {
  it('takes the key count from the file, fixed or variable', () => {
    const dir = scriptFolder({ 'a.lua': '--- @keys 3\nreturn 1\n', 'b.lua': '--- @keys variable\nreturn 1\n' });
    expect(loadLuaScript(join(dir, 'a.lua')).numberOfKeys).toBe(3);
    expect(loadLuaScript(join(dir, 'b.lua')).numberOfKeys).toBe('variable');
  });

  it('refuses a file without one valid key count', () => {
    const dir = scriptFolder({
      'none.lua': 'return 1\n',
      'two.lua': '--- @keys 1\n--- @keys 2\nreturn 1\n',
      'odd.lua': '--- @keys some\nreturn 1\n',
    });
    expect(() => loadLuaScript(join(dir, 'none.lua'))).toThrow(/exactly one "--- @keys/);
    expect(() => loadLuaScript(join(dir, 'two.lua'))).toThrow(/exactly one "--- @keys/);
    expect(() => loadLuaScript(join(dir, 'odd.lua'))).toThrow(/neither a count nor "variable"/);
  });

  it('inlines each include once, from the nearest lua-includes/ folder', () => {
    const dir = scriptFolder({
      'lua-includes/shared.lua': 'local shared = "outer"\n',
      'lib/lua-includes/shared.lua': 'local shared = "inner"\n',
      'lib/x/s.lua': '--- @keys 0\n--- @include "shared"\n--- @include "shared"\nreturn shared\n',
    });
    const { lua } = loadLuaScript(join(dir, 'lib/x/s.lua'));
    expect(lua).toContain('"inner"');
    expect(lua).not.toContain('"outer"');
    expect(lua.match(/local shared/g)).toHaveLength(1);
  });

  it('refuses a missing or circular include', () => {
    const dir = scriptFolder({
      'missing.lua': '--- @keys 0\n--- @include "nowhere"\n',
      'lua-includes/a.lua': '--- @include "b"\n',
      'lua-includes/b.lua': '--- @include "a"\n',
      'circular.lua': '--- @keys 0\n--- @include "a"\n',
    });
    expect(() => loadLuaScript(join(dir, 'missing.lua'))).toThrow(/include "nowhere" not found/);
    expect(() => loadLuaScript(join(dir, 'circular.lua'))).toThrow(/includes itself/);
  });

  it('prepends the key check only when asked', () => {
    const dir = scriptFolder({ 's.lua': '--- @keys 1\nreturn 1\n' });
    expect(loadLuaScript(join(dir, 's.lua')).lua).not.toContain('key check');
    expect(loadLuaScript(join(dir, 's.lua'), { checked: true }).lua).toContain('key check');
  });
});
