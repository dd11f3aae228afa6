import fc from 'fast-check';
import type { OpenAPIObject } from '@nestjs/swagger';
import { describe, expect, it } from 'vitest';
import { firstSentence, summarizeOperations, SUMMARY_MAX_LENGTH } from './openapi-summaries';

describe('firstSentence', () => {
  it.each([
    ["Buys the caller's live hold. 402 when the payment is declined.", "Buys the caller's live hold"],
    ['Trades a refresh token for a new pair; the old one stops working.', 'Trades a refresh token for a new pair'],
    ['Ready to serve the sale: PostgreSQL is reachable\nand Redis runs a Lua script.', 'Ready to serve the sale'],
    [
      'The process is up (for a liveness probe: never checks dependencies).',
      'The process is up (for a liveness probe: never checks dependencies)',
    ],
    [
      'Checks a ticket in at the door (staff or admin). 200 the first time.',
      'Checks a ticket in at the door (staff or admin)',
    ],
    ['Sends a "confirm: your address" e-mail. Then waits.', 'Sends a "confirm: your address" e-mail'],
    ['Reads `a.b: c` fields. More.', 'Reads `a.b: c` fields'],
    ['Lists things, e.g. seats, by place. More.', 'Lists things, e.g. seats, by place'],
    ['Version 1.5 of the rules.', 'Version 1.5 of the rules'],
    ['One event', 'One event'],
  ])('%j → %j', (text, summary) => {
    expect(firstSentence(text)).toBe(summary);
  });

  it('cuts a long first sentence at a word, with an ellipsis', () => {
    const summary = firstSentence(`${'word '.repeat(60)}end.`);
    expect(summary.length).toBeLessThanOrEqual(SUMMARY_MAX_LENGTH);
    expect(summary).toMatch(/^word( word)*…$/);
  });

  it('always answers one line of at most SUMMARY_MAX_LENGTH characters that starts the text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (text) => {
        const summary = firstSentence(text);
        expect(summary.length).toBeLessThanOrEqual(SUMMARY_MAX_LENGTH);
        expect(summary).not.toMatch(/\n/);
        const flat = text.replace(/\s+/g, ' ').trim();
        expect(flat.startsWith(summary.replace(/…$/, '').replace(/[,;:]$/, ''))).toBe(true);
      }),
    );
  });
});

describe('summarizeOperations', () => {
  it('gives an operation without a summary the first sentence of its description, and keeps one that has a summary', () => {
    const document = {
      openapi: '3.0.0',
      info: { title: 't', version: '1' },
      paths: {
        '/a': {
          get: { description: 'Reads a. More about it.', responses: {} },
          post: { summary: 'Own summary', description: 'Writes a. More.', responses: {} },
        },
      },
    } as unknown as OpenAPIObject;
    summarizeOperations(document);
    expect(document.paths['/a'].get?.summary).toBe('Reads a');
    expect(document.paths['/a'].get?.description).toBe('Reads a. More about it.');
    expect(document.paths['/a'].post?.summary).toBe('Own summary');
  });
});
