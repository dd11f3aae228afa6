import type { OpenAPIObject, OperationObject } from '@nestjs/swagger';

/** Longest summary, in characters: a line of Swagger UI's operation list. */
export const SUMMARY_MAX_LENGTH = 120;

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** Abbreviations whose period ends no sentence. */
const ABBREVIATIONS = ['e.g.', 'i.e.', 'etc.', 'vs.'];

/**
 * The first sentence of `text`, on one line: up to the first `.`, `:` or `;` followed by a space
 * (or the end) outside parentheses, brackets, backticks and double quotes, without that mark; cut
 * at a word before SUMMARY_MAX_LENGTH characters (with `…`) when longer.
 */
export function firstSentence(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  let depth = 0;
  let code = false;
  let quoted = false;
  let end = flat.length;
  for (let i = 0; i < flat.length; i += 1) {
    const char = flat[i];
    if (char === '`') code = !code;
    else if (code) continue;
    else if (char === '"') quoted = !quoted;
    else if (quoted) continue;
    else if (char === '(' || char === '[') depth += 1;
    else if ((char === ')' || char === ']') && depth > 0) depth -= 1;
    else if (depth === 0 && (char === '.' || char === ':' || char === ';') && (flat[i + 1] ?? ' ') === ' ') {
      if (char === '.' && ABBREVIATIONS.some((abbreviation) => flat.slice(0, i + 1).endsWith(abbreviation))) continue;
      end = i;
      break;
    }
  }
  const sentence = flat.slice(0, end);
  if (sentence.length <= SUMMARY_MAX_LENGTH) return sentence;
  const cut = sentence.lastIndexOf(' ', SUMMARY_MAX_LENGTH - 1);
  return `${sentence.slice(0, cut > 0 ? cut : SUMMARY_MAX_LENGTH - 1).replace(/[,;:]$/, '')}…`;
}

/**
 * Gives every operation of `document` a one-line summary: the first sentence of its description
 * (the handler's doc comment, which the Swagger CLI plugin puts there, `controllerKeyOfComment:
 * "description"` in nest-cli.json), so Swagger UI's list reads as a list; the whole comment stays
 * the description. An operation with a summary of its own (`@ApiOperation`) keeps it.
 */
export function summarizeOperations(document: OpenAPIObject): void {
  for (const item of Object.values(document.paths)) {
    for (const method of METHODS) {
      const operation: OperationObject | undefined = item[method];
      if (operation && !operation.summary && operation.description) {
        operation.summary = firstSentence(operation.description);
      }
    }
  }
}
