import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type LogLine = Record<string, unknown>;

/**
 * Every JSON line of the files Filebeat reads in one LOG_DIR (`<app>-<level>-<date>.log`): whole
 * lines only, so a file read while a process appends to it leaves out the line being written.
 */
export function readLogFiles(logDir: string, app?: string): LogLine[] {
  if (!existsSync(logDir)) return [];
  return readdirSync(logDir)
    .filter((name) => name.endsWith('.log') && (!app || name.startsWith(`${app}-`)))
    .flatMap((name) => {
      const text = readFileSync(join(logDir, name), 'utf8');
      return text
        .slice(0, text.lastIndexOf('\n') + 1)
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as LogLine);
    });
}

/** The value at a dotted path, reading nested objects (ECS lines nest `http.request.id`). */
export function field(line: LogLine, path: string): unknown {
  return path.split('.').reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], line);
}

export function accessLines(lines: LogLine[]): LogLine[] {
  return lines.filter((line) => field(line, 'log.logger') === 'Access');
}
