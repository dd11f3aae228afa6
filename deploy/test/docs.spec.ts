import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { Env, parseEnv } from '@app/config';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '../..');
const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');
/**
 * The Markdown files checked: the README, docs/*.md and the API guides docs/guide/*.md (not
 * docs/trials, a record of past runs).
 */
const DOC_FILES = [
  'README.md',
  ...['docs', 'docs/guide'].flatMap((dir) =>
    readdirSync(join(ROOT, dir))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `${dir}/${f}`),
  ),
];

/**
 * Markdown without its code blocks: a `#` line or `[x](y)` there is code, not markup. Fenced blocks
 * at any indentation (a fence inside a list item is indented to the item's text), and indented
 * blocks: after a blank line, lines indented 4 or more columns past the text of the list item they
 * are in (past the margin outside lists). A nested item's continuation, indented less, stays prose.
 */
function withoutCodeBlocks(markdown: string): string {
  const kept: string[] = [];
  // The column where the text of the innermost open list item starts (0 outside lists).
  let itemText = 0;
  let fence: { marker: string; indent: number } | null = null;
  let indentedCode = false;
  let afterBlank = true;
  for (const line of markdown.split('\n')) {
    const indent = line.length - line.trimStart().length;
    const blank = line.trim() === '';
    if (fence) {
      if (line.trimStart().startsWith(fence.marker) && line.trim().replace(/[`~]/g, '') === '') fence = null;
      afterBlank = false;
      continue;
    }
    if (indentedCode && (blank || indent >= itemText + 4)) continue;
    indentedCode = false;
    const opening = /^(`{3,}|~{3,})/.exec(line.trimStart());
    if (opening && indent <= itemText + 3) {
      fence = { marker: opening[1], indent };
      continue;
    }
    if (!blank && afterBlank && indent >= itemText + 4) {
      indentedCode = true;
      continue;
    }
    const item = /^(\s*)([-*+]|\d+[.)])(\s+)\S/.exec(line);
    if (item) itemText = item[1].length + item[2].length + item[3].length;
    else if (!blank && afterBlank && indent < itemText) itemText = indent === 0 ? 0 : Math.min(itemText, indent);
    kept.push(line);
    afterBlank = blank;
  }
  return kept.join('\n');
}

/**
 * The anchors GitHub gives a Markdown file: each heading's slug (lower case, punctuation but `-`
 * and `_` dropped, spaces as `-`; a repeated slug numbered `-1`, `-2` …) and every `<a id>`.
 */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, title] of withoutCodeBlocks(markdown).matchAll(/^#{1,6}\s+(.*?)\s*#*$/gm)) {
    const slug = title
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count ? `${slug}-${count}` : slug);
  }
  for (const [, id] of markdown.matchAll(/<a (?:id|name)="([^"]+)"/g)) anchors.add(id);
  return anchors;
}

/** The README section under `## <title>`, up to the next `## ` heading. */
function section(readme: string, title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`);
  expect(start, `README has a "## ${title}" section`).toBeGreaterThan(-1);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end === -1 ? undefined : end);
}

/**
 * Whether README's Commands text names the npm script `name` (`npm run <name>`, `npm <name>`, or
 * `· \`<name>\`` in a row of several): the whole name, so `npm run bench:compare` does not name `bench`.
 */
function namesScript(commands: string, name: string): boolean {
  return new RegExp(`\`npm (run )?${name}(?![\\w:-])|· \`${name}\``).test(commands);
}

/**
 * The settings as the config module resolves them when unset: in development (.env.example's
 * NODE_ENV), then in production (its required secrets given here), for a default only production
 * has (METRICS_PORT).
 */
function resolvedDefaults(): Record<string, unknown>[] {
  // Random, as the production check wants secrets no one can guess.
  const secret = () => randomBytes(32).toString('base64');
  return [
    parseEnv({ NODE_ENV: 'development' }),
    parseEnv({
      NODE_ENV: 'production',
      JWT_ACCESS_SECRET: secret(),
      JWT_REFRESH_SECRET: secret(),
      TICKET_SIGNING_SECRET: secret(),
    }),
  ] as unknown as Record<string, unknown>[];
}

/**
 * The commented-out settings of `.env.example` (`# NAME=value`) whose value is not what the config
 * module gives NAME when unset: in the first of `defaults` (each a resolved Env, the example's own
 * NODE_ENV first) that gives it one. A reader uncommenting one expects nothing to change. `# NAME=` (left unset) and settings with no default in any (an
 * example value: a URL, a Cluster's nodes) are not compared; names that are no setting are skipped.
 */
function commentedDefaultMismatches(example: string, defaults: readonly Record<string, unknown>[]): string[] {
  const mismatches: string[] = [];
  for (const [, name, value] of example.matchAll(/^# ([A-Z][A-Z0-9_]+)=(.*)$/gm)) {
    if (value === '' || !defaults.some((resolved) => name in resolved)) continue;
    const unset = defaults.map((resolved) => resolved[name]).find((resolved) => resolved !== undefined);
    if (unset !== undefined && String(unset) !== value) mismatches.push(`${name}=${value} (unset: ${String(unset)})`);
  }
  return mismatches;
}

describe('README.md, docs/*.md and docs/guide/*.md', () => {
  const readme = read('README.md');

  it('link only to files and anchors that exist', () => {
    const broken: string[] = [];
    const anchors = new Map<string, Set<string>>();
    const anchorsIn = (file: string): Set<string> => {
      if (!anchors.has(file)) anchors.set(file, anchorsOf(read(file)));
      return anchors.get(file)!;
    };
    for (const file of DOC_FILES) {
      // Code spans are left out too: `[a](b)` inside one is an example, not a link.
      const prose = withoutCodeBlocks(read(file)).replace(/`[^`\n]*`/g, '');
      for (const [, target] of prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
        const [path, anchor] = target.split('#');
        const linked = path ? relative(ROOT, normalize(join(ROOT, dirname(file), decodeURI(path)))) : file;
        if (!existsSync(join(ROOT, linked))) broken.push(`${file}: ${target} (no file ${linked})`);
        else if (anchor !== undefined && linked.endsWith('.md') && !anchorsIn(linked).has(anchor))
          broken.push(`${file}: ${target} (no such heading or anchor in ${linked})`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('Configuration lists every setting of libs/config, with its default, and no other', () => {
    const rows = section(readme, 'Configuration')
      .split('\n')
      .filter((line) => line.startsWith('| `'));
    const documented = new Map<string, string>();
    for (const row of rows) {
      const [names, defaultCell] = row.slice(2).split(' | ');
      for (const [, name] of names.matchAll(/`([A-Z][A-Z0-9_]+)`/g)) documented.set(name, defaultCell);
    }
    // Every setting, with or without a default, is a property of Env (a field declared without a
    // value is still defined, as undefined, under the project's class-field semantics).
    const defaults = new Env() as unknown as Record<string, unknown>;
    const settings = Object.keys(defaults).filter((key) => /^[A-Z][A-Z0-9_]+$/.test(key));
    expect(settings.length).toBeGreaterThan(50);
    expect([...documented.keys()].sort()).toEqual([...settings].sort());
    for (const name of settings) {
      const value = defaults[name];
      if (value === undefined) continue; // unset, or a default the README words (development values …)
      const expected = value === '' ? '(empty)' : `\`${String(value)}\``;
      expect(documented.get(name), name).toContain(expected);
    }
  });

  it('.env.example shows every setting but the test-only faults, each with its default when set', () => {
    const example = read('.env.example');
    const defaults = new Env() as unknown as Record<string, unknown>;
    for (const [name, value] of Object.entries(defaults)) {
      if (name.startsWith('FAULT_')) continue;
      const line = new RegExp(`^(# )?${name}=(.*)$`, 'm').exec(example);
      expect(line, `.env.example shows ${name}`).not.toBeNull();
      if (value !== undefined && !line![1]) expect(line![2], name).toBe(String(value));
    }
  });

  it('link check: code blocks are skipped, also fenced or indented inside list items; prose in nested items is not', () => {
    const markdown = [
      '# Title',
      '',
      '- an item:',
      '',
      '  ```sh',
      '  # not a heading',
      '  curl [x](nowhere.md)',
      '  ```',
      '',
      '- another, with an indented block:',
      '',
      '      # not a heading either',
      '      [y](nowhere-either.md)',
      '',
      '  - a nested item',
      '',
      '    its continuation: [z](real.md)',
      '',
      '    ~~~',
      '    ## nor this',
      '    ~~~',
      '',
      '## Real',
    ].join('\n');
    const prose = withoutCodeBlocks(markdown);
    expect(prose).not.toContain('nowhere');
    expect(prose).toContain('[z](real.md)');
    expect([...anchorsOf(markdown)]).toEqual(['title', 'real']);
  });

  it(".env.example's commented-out settings show the value each has when unset", () => {
    expect(commentedDefaultMismatches(read('.env.example'), resolvedDefaults())).toEqual([]);
  });

  it('.env.example check: a commented-out value other than the default is named; examples and unset ones are not', () => {
    const defaults = resolvedDefaults();
    const example = [
      '# SMTP_URL=smtp://127.0.0.1:2525',
      '# METRICS_PORT=9464',
      '# DOCS_ENABLED=false',
      '# WAITING_ROOM_SECRET=',
      '# SMTP_BULK_URL=smtp://smtp-broadcasts.example.com:587',
      '# COMPOSE_PROFILES=cluster',
    ].join('\n');
    expect(commentedDefaultMismatches(example, defaults)).toEqual([
      'SMTP_URL=smtp://127.0.0.1:2525 (unset: smtp://127.0.0.1:1025)',
      'DOCS_ENABLED=false (unset: true)',
    ]);
  });

  it('name only npm scripts that exist', () => {
    const scripts = Object.keys(JSON.parse(read('package.json')).scripts as Record<string, string>);
    const unknown: string[] = [];
    for (const file of DOC_FILES)
      for (const [, name] of read(file).matchAll(/npm run ([a-z][a-z0-9:-]*)/g))
        // `npm run migration:*`, `npm run start:…`: a family of scripts, not one.
        if (!name.endsWith(':') && !scripts.includes(name)) unknown.push(`${file}: npm run ${name}`);
    expect(unknown).toEqual([]);
  });

  it('Commands names every npm script', () => {
    const commands = section(readme, 'Commands');
    const scripts = Object.keys(JSON.parse(read('package.json')).scripts as Record<string, string>);
    // pretest is npm's hook of `npm test` ("builds if dist is stale"), never run by name.
    const missing = scripts.filter((name) => name !== 'pretest' && !namesScript(commands, name));
    expect(missing).toEqual([]);
  });

  it('Commands check: a script is named by its whole name, not by a longer one it begins', () => {
    expect(namesScript('| `npm run bench:compare -- <build>` |', 'bench')).toBe(false);
    expect(namesScript('| `npm test:unit` |', 'test')).toBe(false);
    expect(namesScript('| `npm run bench` |', 'bench')).toBe(true);
    expect(namesScript('| `npm test` |', 'test')).toBe(true);
    expect(namesScript('| `npm run start:api` · `start:batch` |', 'start:batch')).toBe(true);
  });
});
