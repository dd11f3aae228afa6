import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { builtApiContract } from './built-openapi';
import { NOT_ANSWERED_IN_PROCESS, uncoveredOperations } from './openapi-coverage';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where each worker appends the operations its in-process apps answered (answer-contract.ts). */
    openapiCoverageDir: string;
  }
}

/**
 * For the `int` project: hands the workers a directory for the operations the in-process API
 * answered (each answer held against the built api's OpenAPI document by the ApiHarness); at the
 * end of a run of the project's every file, all of them green, fails when an operation of the
 * document never answered a success there (NOT_ANSWERED_IN_PROCESS aside), so that a new route
 * comes with an e2e story whose answers are checked. A run of some files only checks nothing.
 */
export default function setup(project: TestProject): () => Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'openapi-coverage-'));
  project.provide('openapiCoverageDir', dir);
  return async () => {
    try {
      const { testFiles } = await project.globTestFiles();
      const ran = project.vitest.state.getFiles().filter((file) => file.projectName === project.name);
      // Skipped whole (a file for another setup) counts as run: only a failure leaves answers out.
      const green = new Set(
        ran
          .filter((file) => file.mode === 'skip' || ['pass', 'skip'].includes(file.result?.state ?? ''))
          .map((file) => file.filepath),
      );
      if (testFiles.length === 0 || !testFiles.every((file) => green.has(file))) return;
      const answered = readdirSync(dir).flatMap((file) => readFileSync(join(dir, file), 'utf8').split('\n'));
      const contract = await builtApiContract();
      const { uncovered, stale } = uncoveredOperations(contract.operations(), answered, NOT_ANSWERED_IN_PROCESS);
      if (uncovered.length > 0 || stale.length > 0) {
        // Vitest prints a teardown's error but does not fail the run for it; it never lowers the code.
        process.exitCode = 1;
        throw new Error(
          [
            ...(uncovered.length > 0
              ? [
                  'operations of the OpenAPI document no e2e story (ApiHarness) got a success answer from, so ' +
                    'no answer of theirs was held against the document: add a story, or an entry with its ' +
                    'reason to NOT_ANSWERED_IN_PROCESS (libs/testing/src/openapi-coverage.ts):',
                  ...uncovered,
                ]
              : []),
            ...(stale.length > 0
              ? ['entries of NOT_ANSWERED_IN_PROCESS that were answered (remove them):', ...stale]
              : []),
          ].join('\n'),
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}
