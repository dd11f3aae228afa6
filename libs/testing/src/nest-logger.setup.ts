import { Logger } from '@nestjs/common';
import { FRESH_NEST_LOGGER } from './nest-logger';

// The int projects run file after file in one worker (`isolate: false`): Nest's static logger
// and its levels, set by the previous file's app (`NestFactory.create(…, { logger })`) or by a
// test (`Logger.overrideLogger([...])`), start every file as they are in a fresh process.
Reflect.set(Logger, 'staticInstanceRef', FRESH_NEST_LOGGER.instance);
Reflect.set(Logger, 'logLevels', FRESH_NEST_LOGGER.levels);
