import { Logger } from '@nestjs/common';

/**
 * Nest's static logger (instance and levels) as this worker found it: read when this module is
 * first evaluated, by the first file's setup, before any test touched it. The module stays cached
 * for the worker's later files (vitest re-runs setup files, not the modules they import), so every
 * file is reset to the same state (nest-logger.setup.ts).
 */
export const FRESH_NEST_LOGGER: { readonly instance: unknown; readonly levels: unknown } = Object.freeze({
  instance: Reflect.get(Logger, 'staticInstanceRef'),
  levels: Reflect.get(Logger, 'logLevels'),
});
