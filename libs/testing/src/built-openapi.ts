import { existsSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inputsHash } from '../../../scripts/build-if-stale.mjs';
import { freePort } from './free-port';
import { ContractDocument, OpenApiContract } from './openapi-contract';
import { AppProcess } from './processes';
import { destroyTestEnv } from './services';
import { createTestEnv } from './test-env';

const ROOT = join(__dirname, '..', '..', '..');
/** The hash of the sources dist/ was built from (scripts/build-if-stale.mjs writes it). */
const STAMP = join(ROOT, 'dist', '.build-inputs');

let loaded: Promise<OpenApiContract> | undefined;

/**
 * The contract of the built api's OpenAPI document (`/docs-json` of dist/apps/api), loaded once
 * per worker: the document integrators generate clients from. The in-process app of the e2e tests
 * cannot serve it: the Swagger CLI plugin of the Nest build, which Vitest does not run, makes the
 * DTOs' properties and the success answers' schemas. See {@link apiContract}.
 *
 * The document is fetched from a built api started once per build (~3-5 s) and kept beside dist's
 * build stamp (dist/.openapi-<hash>.json), so later workers and runs read the file.
 * Throws when dist/ is missing or older than a source of the api (`npm run build`).
 */
export function builtApiContract(): Promise<OpenApiContract> {
  loaded ??= load().catch((error: unknown) => {
    loaded = undefined;
    throw error;
  });
  return loaded;
}

async function load(): Promise<OpenApiContract> {
  if (!existsSync(STAMP)) throw new Error('dist/ has no build: run "npm run build" first (npm test does)');
  const stamp = readFileSync(STAMP, 'utf8').trim();
  const changed = sourceChangedSince(statSync(STAMP).mtimeMs);
  // Written again with the same content (a checkout of another branch and back) is no change: dist is
  // current when the build's own hash of its inputs says so.
  if (changed && inputsHash(ROOT) !== stamp) {
    throw new Error(
      `${changed} changed after dist/ was built, so the built api's OpenAPI document (which the e2e tests hold ` +
        `the in-process API's answers against) may not be its own: run "npm run build" first (npm test does)`,
    );
  }
  const cached = join(ROOT, 'dist', `.openapi-${stamp}.json`);
  const document = existsSync(cached)
    ? (JSON.parse(readFileSync(cached, 'utf8')) as ContractDocument)
    : await fetchBuiltDocument(cached);
  return apiContract(document);
}

/**
 * The contract of an api document as the tests hold answers against it: 431 and 503 allowed on every
 * operation with the uniform error body (the document's description says any route may answer
 * them), object schemas closed.
 */
export function apiContract(document: ContractDocument): OpenApiContract {
  const errorBody = { content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBodyDto' } } } };
  return new OpenApiContract(document, { closed: true, everywhere: { 431: errorBody, 503: errorBody } });
}

/**
 * A source of the api (apps/api/src, libs/<lib>/src, tests aside) written after `builtAt` (ms since
 * the epoch), if any. By time first, not by build-if-stale's hash of the inputs alone: libs/testing
 * is an input of the build but not of the document, and a change to it must not ask for a build.
 */
function sourceChangedSince(builtAt: number): string | undefined {
  const walk = (dir: string): string | undefined => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const found = entry.isDirectory()
        ? walk(path)
        : !/\.(spec|int-spec|e2e-spec)\.ts$/.test(entry.name) && statSync(path).mtimeMs > builtAt
          ? path
          : undefined;
      if (found) return found;
    }
    return undefined;
  };
  const libs = readdirSync(join(ROOT, 'libs')).filter((lib) => lib !== 'testing');
  for (const dir of [join(ROOT, 'apps', 'api', 'src'), ...libs.map((lib) => join(ROOT, 'libs', lib, 'src'))]) {
    const found = walk(dir);
    if (found) return found.slice(ROOT.length + 1);
  }
  return undefined;
}

/** Starts the built api on a test environment of its own, reads `/docs-json`, keeps it at `file`. */
async function fetchBuiltDocument(file: string): Promise<ContractDocument> {
  const env = await createTestEnv({ PORT: String(await freePort()), DOCS_ENABLED: 'true' });
  try {
    const api = await AppProcess.start('api', env);
    try {
      const res = await fetch(`http://127.0.0.1:${env.PORT}/docs-json`);
      if (res.status !== 200) throw new Error(`the built api answered /docs-json with ${res.status}`);
      const text = await res.text();
      // Another worker may be writing it too: each writes whole and renames (the same content).
      const partial = `${file}.${process.pid}`;
      writeFileSync(partial, text);
      renameSync(partial, file);
      return JSON.parse(text) as ContractDocument;
    } finally {
      api.kill('SIGTERM');
      await api.exited;
    }
  } finally {
    await destroyTestEnv(env);
  }
}
